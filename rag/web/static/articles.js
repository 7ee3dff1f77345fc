// The article list: a remove button asks first, then tells the server which upload to remove.
element.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-remove]");
  if (!button) return;
  if (!window.confirm(`Remove \u201c${button.dataset.title}\u201d? Its file and its passages are deleted.`)) return;
  button.disabled = true;
  trigger("click", { doc_id: button.dataset.remove });
});
