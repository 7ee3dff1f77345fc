// Runs in the browser before a question goes to the server: show it at once, with a progress line; with an
// empty box, say so under it instead (the server then does nothing).
(...args) => {
  const question = String(args[0] ?? "").replace(/\s+/g, " ").trim().slice(0, 2000);
  const note = document.querySelector("#rag-composer-note .rag-composer-note");
  if (note) note.textContent = question ? "" : "Type a question first, then press Ask.";
  if (!question) document.querySelector("#rag-question textarea")?.focus();
  if (question && window.ragEcho) window.ragEcho(question);
  return args;
}
