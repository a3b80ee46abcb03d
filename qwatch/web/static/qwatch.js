// Refreshes the page's <main> at the dashboard's pace, keeping which host groups are open.
// The server escapes every text it sends, so the fragment is inserted as it comes.
"use strict";
(() => {
  const main = document.querySelector("main[data-refresh]");
  if (!main) return;
  const seconds = Number(main.dataset.refresh) || 5;
  let busy = false;

  async function refresh() {
    if (busy || document.hidden || main.contains(document.activeElement) && document.activeElement.tagName === "BUTTON") return;
    busy = true;
    try {
      const answer = await fetch(location.href, { headers: { "X-Qwatch-Fragment": "1" }, credentials: "same-origin" });
      // 404 and 503 are the dashboard's own answers (gone; Redis unavailable): shown as they come.
      if (!answer.ok && answer.status !== 404 && answer.status !== 503) throw new Error(String(answer.status));
      const closed = new Set([...main.querySelectorAll("details:not([open])")].map((d) => d.id));
      main.innerHTML = await answer.text();
      for (const group of main.querySelectorAll("details")) group.open = !closed.has(group.id);
      document.body.classList.remove("offline");
    } catch (error) {
      document.body.classList.add("offline");
    } finally {
      busy = false;
    }
  }

  // "read 3.2s ago", kept current between refreshes as the server writes it (text/formatting).
  function age(seconds) {
    if (seconds < 10) return seconds < 0.1 ? `${Math.round(seconds * 1000)}ms` : `${seconds.toFixed(1)}s`;
    const whole = Math.floor(seconds);
    const two = (n) => String(n).padStart(2, "0");
    if (whole < 60) return `${whole}s`;
    if (whole < 3600) return `${Math.floor(whole / 60)}m${two(whole % 60)}s`;
    if (whole < 86400) return `${Math.floor(whole / 3600)}h${two(Math.floor(whole % 3600 / 60))}m`;
    return `${Math.floor(whole / 86400)}d${two(Math.floor(whole % 86400 / 3600))}h`;
  }

  function ages() {
    const now = Date.now() / 1000;
    for (const span of main.querySelectorAll("[data-taken]")) {
      span.textContent = age(Math.max(0, now - Number(span.dataset.taken)));
    }
  }

  setInterval(refresh, seconds * 1000);
  setInterval(ages, 1000);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });
})();
