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
      if (!answer.ok && answer.status !== 404) throw new Error(String(answer.status));
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

  setInterval(refresh, seconds * 1000);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });
})();
