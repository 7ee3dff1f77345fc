// New chat, in the browser before the server empties the conversation and the filters: no stale note.
(...args) => {
  const note = document.querySelector("#rag-composer-note .rag-composer-note");
  if (note) note.textContent = "";
  return args;
}
