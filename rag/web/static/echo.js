// Runs in the browser before a question goes to the server: show it at once, with a progress line (an empty
// box never gets here: empty_question.js stops it first).
(...args) => {
  const question = String(args[0] ?? "").replace(/\s+/g, " ").trim().slice(0, 2000);
  const note = document.querySelector("#rag-composer-note .rag-composer-note");
  if (note) note.textContent = "";  // an example question clears an earlier "type a question first"
  if (question && window.ragEcho) window.ragEcho(question);
  return args;
}
