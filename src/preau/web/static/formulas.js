// Formulas in exercises: \( … \) in a line, \[ … \] or $$ … $$ on their own, drawn by
// Debian's KaTeX, which is loaded only on a page that holds one. Without JavaScript (or
// without KaTeX on the server) the TeX source stays as the teacher typed it.
(() => {
  "use strict";
  const main = document.querySelector("main");
  if (!main || !/\\\(|\\\[|\$\$/.test(main.textContent)) return;
  const css = document.createElement("link");
  css.rel = "stylesheet";
  css.href = "/katex/katex.min.css";
  document.head.append(css);
  const load = (src) => new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = src;
    script.onload = resolve;
    script.onerror = reject;
    document.head.append(script);
  });
  load("/katex/katex.min.js")
    .then(() => load("/katex/contrib/auto-render.js"))
    .then(() => {
      window.renderMathInElement(main, {
        delimiters: [
          { left: "$$", right: "$$", display: true },
          { left: "\\[", right: "\\]", display: true },
          { left: "\\(", right: "\\)", display: false },
        ],
        ignoredTags: ["script", "noscript", "style", "textarea", "pre", "code", "option"],
        throwOnError: false,
      });
      main.dataset.formulas = "drawn";
    })
    .catch(() => { main.dataset.formulas = "unavailable"; });
})();
