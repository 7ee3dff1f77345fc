// Runs in the browser before a question goes to the server: show it at once, with a progress line.
(...args) => {
  const question = String(args[0] ?? "").replace(/\s+/g, " ").trim().slice(0, 2000);
  if (question && window.ragEcho) window.ragEcho(question);
  return args;
}
