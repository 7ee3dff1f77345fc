// The drop zone's accessible name must contain the words it shows (WCAG 2.5.3; axe label-content-name-mismatch):
// Gradio names it "Click to upload or drop files" while it shows "Drop File Here - or - Click to Upload". Its name
// becomes what it shows and the label above it (aria-labelledby wins over Gradio's aria-label), again whenever
// Gradio draws the zone anew.
const name = () => {
  const zone = document.querySelector("#rag-upload button.upload-container");
  const shown = zone?.querySelector('[data-testid="upload-text"]');
  const label = document.querySelector('#rag-upload [data-testid="block-label"]');
  if (!zone || !shown) return;
  shown.id ||= "rag-upload-text";
  if (label) label.id ||= "rag-upload-label";
  const ids = [shown.id, label?.id].filter(Boolean).join(" ");
  if (zone.getAttribute("aria-labelledby") !== ids) zone.setAttribute("aria-labelledby", ids);
};
name();
new MutationObserver(name).observe(element.closest("#rag-library") || document.body, { childList: true, subtree: true });
