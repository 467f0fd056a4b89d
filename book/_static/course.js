/* Site behaviour the themes leave out (added to every page by book/_ext/course_site.py).
   Tested in tests/test_site.py (phone menu, tooltips, the "/" key). */
(function () {
  "use strict";

  /* Bootstrap's tooltips show on hover and focus. A tap on a touch screen counts as both and
     nothing ends them, so the tooltip stays over the next button. Hide a tooltip when its
     button is used, and do not show tooltips at all where there is no hover. */
  function tameTooltips() {
    if (!window.bootstrap || !window.bootstrap.Tooltip) return;
    const Tooltip = window.bootstrap.Tooltip;
    const noHover = window.matchMedia("(hover: none)").matches;
    document.querySelectorAll('[data-bs-toggle="tooltip"]').forEach((el) => {
      const tip = Tooltip.getInstance(el);
      if (!tip) return;
      if (noHover) tip.disable();
      el.addEventListener("click", () => tip.hide());
    });
  }

  /* "/" opens the search dialog (as on many documentation sites), like the theme's Ctrl+K,
     unless the reader is typing into a field. */
  function slashOpensSearch() {
    document.addEventListener("keydown", (event) => {
      if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
      const target = event.target;
      if (target && (target.isContentEditable ||
          /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
      const dialog = document.getElementById("pst-search-dialog");
      if (dialog && dialog.open) return;
      const button = document.querySelector(".search-button__button");
      if (!button) return;
      event.preventDefault();
      button.click();
    });
  }

  /* A box that scrolls sideways (a wide equation or table on a phone) must be reachable by
     keyboard to be scrolled without a mouse (axe: scrollable-region-focusable). The theme
     does this for code and notebook outputs; these are the boxes course.css adds. */
  function focusableScrollBoxes() {
    const selector = "div.math, .cell_output .output.text_html";
    const update = () => document.querySelectorAll(selector).forEach((el) => {
      if (el.scrollWidth > el.clientWidth) el.tabIndex = 0;
      else el.removeAttribute("tabindex");
    });
    update();            // after KaTeX, which typesets on DOMContentLoaded
    window.addEventListener("resize", update);
  }

  /* A tap or click on a plot opens the image by itself at full size (the PNG has twice the
     pixels it is shown with), where a phone can zoom into it. A link, so it also works from
     the keyboard and is announced with the image's alt text. */
  function enlargeableFigures() {
    const selector = "article.bd-article div.cell_output img, article.bd-article figure img";
    document.querySelectorAll(selector).forEach((img) => {
      if (img.closest("a")) return;
      const link = document.createElement("a");
      link.href = img.currentSrc || img.src;
      link.className = "course-enlarge";
      link.title = "Open the full-size image";
      img.replaceWith(link);
      link.appendChild(img);
    });
  }

  /* Sphinx's search page shows a snippet of each page found, cut from the page's HTML, where
     math is still TeX source (KaTeX typesets it in the browser), e.g. \(\eta\).
     Show an ellipsis for each formula instead. Wraps Sphinx's Search.htmlToText. */
  function searchSnippetsWithoutTeX() {
    // searchtools.js declares `const Search` (a global binding, not a property of window)
    if (typeof Search === "undefined" || typeof Search.htmlToText !== "function") return;
    const htmlToText = Search.htmlToText;
    Search.htmlToText = (htmlString, anchor) => {
      const doc = new DOMParser().parseFromString(htmlString, "text/html");
      doc.querySelectorAll(".math").forEach((el) => el.replaceWith(" … "));
      return htmlToText(doc.documentElement.outerHTML, anchor);
    };
  }

  function ready(callback) {
    if (document.readyState === "complete") callback();
    else window.addEventListener("load", callback);
  }

  ready(tameTooltips);
  ready(focusableScrollBoxes);
  ready(enlargeableFigures);
  slashOpensSearch();
  searchSnippetsWithoutTeX();
})();
