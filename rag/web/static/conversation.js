// The chat log's behaviour (Gradio runs this with `element`, `props` and `watch`): after each update the start
// of the newest answer is scrolled into view; a citation click selects its source, in the panel beside the chat
// on a wide screen or in the sources section under the answer on a narrow one.
const log = () => element.querySelector(".rag-log");
const panel = () => document.querySelector("#rag-evidence .rag-evidence");
const besideChat = () => {
  const column = document.getElementById("rag-evidence-column");
  return !!column && getComputedStyle(column).display !== "none";
};

function reveal(turn) {
  const container = log();
  const reply = turn.querySelector(".rag-reply");
  const question = turn.querySelector(".rag-question");
  if (!container || !reply || !question) return;
  const box = container.getBoundingClientRect(); // the page may have been scrolled away, to the options say
  if (box.top < 0 || box.bottom > window.innerHeight) container.scrollIntoView({ block: "nearest" });
  const lead = Math.min(question.offsetHeight, 96) + 12; // the end of the question stays in view above it
  const top = reply.getBoundingClientRect().top - container.getBoundingClientRect().top + container.scrollTop;
  container.scrollTop = Math.max(0, top - lead);
}

function selectCard(container, number, focus) {
  container.querySelectorAll(".rag-source[aria-current]").forEach((c) => {
    c.removeAttribute("aria-current");
  });
  const card = number && container.querySelector(`.rag-source[data-source="${CSS.escape(number)}"]`);
  if (!card) return;
  card.setAttribute("aria-current", "true");
  card.scrollIntoView({ block: "nearest" });
  if (focus) card.focus({ preventScroll: true });
}

function showSources(turn, number, focus) {
  const details = turn && turn.querySelector("details.rag-turn-sources");
  const target = panel();
  if (besideChat() && target) {
    const body = target.querySelector(".rag-evidence-body");
    const heading = target.querySelector(".rag-evidence-heading");
    const asked = target.querySelector(".rag-evidence-for");
    const question = turn ? turn.querySelector(".rag-question-text") : null;
    heading.textContent = details ? details.dataset.heading : "Sources";
    asked.hidden = !details;
    asked.replaceChildren(...(question ? forQuestion(question) : []));
    asked.title = question ? questionText(question) : "";
    body.replaceChildren(
      ...(details ? [details.querySelector(".rag-source-list").cloneNode(true)] : [emptyNote()])
    );
    target.dataset.turn = turn ? turn.dataset.turn : "";
    selectCard(body, number, focus);
  } else if (details && number) {
    details.open = true;
    selectCard(details, number, focus);
  }
}

const HEADING_CHARS = 160; // a question of 2,000 characters must not bury the sources under it

function questionText(question) {
  const text = question.querySelector("bdi");
  return (text || question).textContent.replace(/^You asked: /, "");
}

// "For: <the question>", cut to HEADING_CHARS with an ellipsis; the question in a <bdi>, so that a
// right-to-left override in it stops at its end.
function forQuestion(question) {
  const text = questionText(question);
  const words = document.createElement("bdi");
  words.textContent = text.length > HEADING_CHARS ? text.slice(0, HEADING_CHARS).trimEnd() : text;
  return ["For: ", words, ...(text.length > HEADING_CHARS ? ["\u2026"] : [])];
}

function emptyNote() {
  const note = document.createElement("p");
  note.className = "rag-evidence-empty";
  note.textContent = "The passages an answer quotes appear here, each with a link to its place in the article.";
  return note;
}

function newestTurn() {
  const turns = element.querySelectorAll(".rag-turn");
  return turns.length ? turns[turns.length - 1] : null;
}

window.ragEcho = (question) => {
  const container = log();
  if (!container) return;
  container.querySelector(".rag-empty")?.remove();
  const turn = document.createElement("div");
  turn.className = "rag-turn";
  turn.dataset.status = "pending";
  turn.innerHTML =
    '<div class="rag-question"><p class="rag-question-text"><span class="rag-visually-hidden">You asked: </span><bdi></bdi></p></div>' +
    '<div class="rag-reply"><p class="rag-pending" role="status"><span class="rag-spinner" aria-hidden="true"></span>' +
    "Searching the articles\u2026</p></div>";
  turn.querySelector(".rag-question-text bdi").textContent = question;
  container.append(turn);
  reveal(turn);
};

watch("value", () => {
  const turn = newestTurn();
  if (!turn) return showSources(null, null, false);
  reveal(turn);
  if (turn.dataset.status !== "pending") showSources(turn, null, false);
});

element.addEventListener("click", (event) => {
  const show = event.target.closest("button.rag-show-sources");
  if (show) {
    showSources(show.closest(".rag-turn"), null, false);
    panel()?.querySelector(".rag-evidence-heading")?.focus();
    return;
  }
  const link = event.target.closest("a.rag-cite");
  if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
  event.preventDefault(); // the link still opens the article with a modifier key, a middle click or without JS
  showSources(link.closest(".rag-turn"), link.dataset.source, true);
});
