// The report wizard: one step at a time, the live severity score, and the parts
// of the form that apply only to some choices. Without this script every step
// shows at once and the form works the same; the server checks everything.
(() => {
  "use strict";

  // Show or hide a block; hidden inputs are disabled so that they are not sent
  // (a working group ticked before switching the audience back, for example).
  function setShown(element, shown) {
    element.hidden = !shown;
    element.querySelectorAll("input, select, textarea").forEach((input) => {
      input.disabled = !shown;
    });
  }

  function checkedValue(form, name) {
    const input = form.querySelector(`input[name="${name}"]:checked`);
    return input ? input.value : "";
  }

  function labelOf(form, input) {
    const own = input.closest("label");
    if (own) return own.textContent.trim();
    const label = input.id ? form.querySelector(`label[for="${CSS.escape(input.id)}"]`) : null;
    return label ? label.textContent.trim() : "";
  }

  function shorten(text, length) {
    const flat = text.replace(/\s+/g, " ").trim();
    return flat.length > length ? `${flat.slice(0, length - 1)}…` : flat;
  }

  function init() {
    const form = document.getElementById("report-wizard");
    if (!form) return;
    const steps = Array.from(form.querySelectorAll(".wizard-step"));
    const progress = form.querySelector(".wizard-progress");
    const gotoButtons = Array.from(form.querySelectorAll("[data-wizard-goto]"));
    let current = 0;

    form.classList.add("wizard-js");
    form.querySelectorAll("[data-wizard-back], [data-wizard-next]").forEach((button) => {
      button.hidden = false;
    });
    if (progress) progress.hidden = false;

    // --- Steps ---------------------------------------------------------------------

    function show(index, focus) {
      current = Math.max(0, Math.min(steps.length - 1, index));
      steps.forEach((step, i) => {
        step.hidden = i !== current;
      });
      gotoButtons.forEach((button, i) => {
        if (i === current) button.setAttribute("aria-current", "step");
        else button.removeAttribute("aria-current");
      });
      if (steps[current].id === "step-review") buildReview();
      if (focus) {
        const heading = steps[current].querySelector("legend h2");
        if (heading) heading.focus();
        form.scrollIntoView({ block: "start" });
      }
    }

    form.addEventListener("click", (event) => {
      const target = event.target.closest("[data-wizard-next], [data-wizard-back], [data-wizard-goto]");
      if (!target) return;
      event.preventDefault();
      if (target.hasAttribute("data-wizard-next")) show(current + 1, true);
      else if (target.hasAttribute("data-wizard-back")) show(current - 1, true);
      else show(Number(target.getAttribute("data-wizard-goto")), true);
    });

    // Enter in a one-line field moves on instead of submitting half a report.
    form.addEventListener("keydown", (event) => {
      const field = event.target;
      if (event.key !== "Enter" || field.tagName !== "INPUT") return;
      if (["submit", "button", "checkbox", "radio"].includes(field.type)) return;
      if (current < steps.length - 1) {
        event.preventDefault();
        show(current + 1, true);
      }
    });

    // --- Choices that show or hide other fields -----------------------------------------

    function applyKind() {
      const kind = checkedValue(form, "kind");
      const incident = kind === "" || kind === "incident";
      form.querySelectorAll("[data-incident-only]").forEach((block) => setShown(block, incident));
      form.querySelectorAll("[data-not-incident]").forEach((note) => {
        note.hidden = incident;
      });
    }

    function applyDistribution() {
      const marking = checkedValue(form, "marking");
      const audience = checkedValue(form, "audience");
      if (marking === "clear") {
        // Public means the whole network and beyond: the only audience CLEAR allows.
        const network = form.querySelector('input[name="audience"][value="network"]');
        if (network) network.checked = true;
      }
      form.querySelectorAll("[data-hide-when-marking]").forEach((block) => {
        const markings = block.getAttribute("data-hide-when-marking").split(" ");
        setShown(block, !markings.includes(marking));
      });
      const audienceApplies = marking !== "red" && marking !== "clear";
      form.querySelectorAll("[data-show-when-audience]").forEach((block) => {
        setShown(block, audienceApplies && block.getAttribute("data-show-when-audience") === audience);
      });
      form.querySelectorAll("[data-show-when-marking]").forEach((block) => {
        setShown(block, block.getAttribute("data-show-when-marking") === marking);
      });
    }

    // --- Severity, computed as the server does (the server's score is the one stored) -----

    function updateScore() {
      const box = document.getElementById("severity");
      if (!box) return;
      let points = 0;
      let total = 0;
      let answered = 0;
      box.querySelectorAll(".severity-factor").forEach((factor) => {
        const weight = Number(factor.getAttribute("data-weight")) || 0;
        total += weight;
        const chosen = factor.querySelector('input[type="radio"]:checked');
        if (chosen && chosen.value !== "unknown") {
          points += weight * (Number(chosen.getAttribute("data-score")) || 0);
          answered += 1;
        }
      });
      const score = total ? Math.floor((2 * points + total) / (2 * total)) : 0;
      const thresholds = (box.getAttribute("data-thresholds") || "")
        .split(",")
        .filter((value) => value !== "")
        .map(Number);
      const level = thresholds.filter((bound) => bound <= score).length;
      const label = box.querySelector(`#severity-levels [data-level="${level}"]`);
      const set = (id, text) => {
        const element = document.getElementById(id);
        if (element) element.textContent = text;
      };
      set("severity-score", String(score));
      set("severity-level", String(level));
      set("severity-answered", String(answered));
      if (label) set("severity-level-label", label.textContent);
    }

    // --- Review ----------------------------------------------------------------------

    function describe(step) {
      const values = [];
      const counted = new Map();
      step.querySelectorAll("input, select, textarea").forEach((input) => {
        if (input.disabled || input.closest("[data-review-skip]")) return;
        // The step itself is hidden while the review shows; blocks hidden inside it are skipped.
        const hiddenBlock = input.closest("[hidden]");
        if (hiddenBlock && hiddenBlock !== step && step.contains(hiddenBlock)) return;
        if (["hidden", "submit", "button"].includes(input.type)) return;
        const group = input.closest("[data-review-label]");
        const prefix = group ? `${group.getAttribute("data-review-label")}: ` : "";
        if (input.type === "radio" || input.type === "checkbox") {
          if (!input.checked || input.value === "unknown") return;
          if (input.name === "extracted") {
            // Possibly hundreds of values: count them rather than list them.
            counted.set(input.name, (counted.get(input.name) || 0) + 1);
            return;
          }
          values.push(prefix + labelOf(form, input));
        } else if (input.tagName === "SELECT") {
          if (!input.value) return;
          values.push(`${labelOf(form, input)}: ${input.selectedOptions[0].textContent.trim()}`);
        } else if (input.type === "file") {
          const names = Array.from(input.files || []).map((file) => file.name);
          if (names.length) values.push(`${labelOf(form, input)}: ${names.join(", ")}`);
        } else if (input.value.trim()) {
          values.push(`${labelOf(form, input)}: ${shorten(input.value, 120)}`);
        }
      });
      if (counted.get("extracted")) {
        const found = step.querySelector(".extracted[data-review-label]");
        const label = found ? found.getAttribute("data-review-label") : "";
        values.push(`${label}: ${counted.get("extracted")}`);
      }
      return values;
    }

    function buildReview() {
      const list = document.getElementById("wizard-review");
      if (!list) return;
      list.replaceChildren();
      steps.forEach((step, index) => {
        if (step.id === "step-review") return;
        const term = document.createElement("dt");
        const heading = step.querySelector("legend h2");
        const change = document.createElement("button");
        change.type = "button";
        change.className = "link-button";
        change.setAttribute("data-wizard-goto", String(index));
        change.textContent = heading ? heading.textContent.trim() : String(index + 1);
        term.appendChild(change);
        list.appendChild(term);
        const values = describe(step);
        if (step.id === "step-distribution") {
          const preview = document.getElementById("audience-preview");
          if (preview) values.push(shorten(preview.textContent, 400));
        }
        if (!values.length) values.push("—");
        values.forEach((value) => {
          const detail = document.createElement("dd");
          detail.textContent = value;
          list.appendChild(detail);
        });
      });
      list.hidden = false;
    }

    form.addEventListener("change", (event) => {
      const name = event.target.name || "";
      if (name === "kind") applyKind();
      if (name === "marking" || name === "audience") applyDistribution();
      if (name.startsWith("severity_")) updateScore();
    });

    applyKind();
    applyDistribution();
    updateScore();
    show(Number(form.getAttribute("data-start-step")) || 0, false);
  }

  document.addEventListener("DOMContentLoaded", init);
})();
