// Runs in the browser when a question is sent, before anything else: an empty box is said under it and goes no
// further. Throwing ends this script-only step as failed, so the server step chained on its success is never
// sent: no pending request to swallow (trigger_mode "once") the question typed right after, no late reply
// writing into the box, and no status badge (this step has no outputs to mark).
(question) => {
  const empty = !String(question ?? "").trim();
  const note = document.querySelector("#rag-composer-note .rag-composer-note");
  if (note) note.textContent = empty ? "Type a question first, then press Ask." : "";
  if (empty) {
    document.querySelector("#rag-question textarea")?.focus();
    throw new Error("empty question: not sent");
  }
}
