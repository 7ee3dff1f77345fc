// The message under the date fields: the field it names is marked invalid, the others valid again.
const mark = () => {
  const field = element.querySelector("[data-field]")?.dataset.field || "";
  document.querySelectorAll("label.rag-date").forEach((label) => {
    const input = label.querySelector("input");
    if (label.querySelector(".rag-date-label")?.textContent === field) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  });
};
watch("value", mark);
