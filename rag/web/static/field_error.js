// The message under one date field (its input names it in aria-describedby): with a message, the field is
// marked invalid, brought into view and focused, so the message is seen beside it; without, valid again.
const update = () => {
  const message = element.querySelector(".rag-field-error");
  const input = message && document.querySelector(`input[aria-describedby="${CSS.escape(message.id)}"]`);
  if (!input) return;
  if (message.dataset.field) {
    input.setAttribute("aria-invalid", "true");
    input.scrollIntoView({ block: "center" });
    input.focus({ preventScroll: true });
  } else {
    input.removeAttribute("aria-invalid");
  }
};
watch("value", update);
