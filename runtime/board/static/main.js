// Which page this is, from the address; then the events stream and the problems banner.
"use strict";

async function start() {
  const main = document.getElementById("main");
  const path = decodeURIComponent(location.pathname);
  const stats = await showProblems();
  const allowTerminate = Boolean(stats && stats.allow_terminate);
  live.start();
  if (path.startsWith("/jobs/")) await jobPage(main, path.slice(6), allowTerminate);
  else if (path.startsWith("/runs/")) await runPage(main, path.slice(6));
  else await jobsPage(main);
  setInterval(showProblems, 5000);
  document.addEventListener("keydown", (event) => {
    if (!isTyping(event) && event.key === "g") location.href = "/";
  });
}

document.addEventListener("DOMContentLoaded", start);
