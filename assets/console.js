// sluice console: keeps a page current. The page's <main data-live="/live?..."> names the
// server-sent event stream to follow; on each `change` event the page is fetched again and
// its <main> swapped in, unless the user is typing in one of its forms. No inline script:
// the Content-Security-Policy allows only this file.
(function () {
  "use strict";
  var main = document.querySelector("main[data-live]");
  if (!main || !window.EventSource) {
    return;
  }
  function busy() {
    var active = document.activeElement;
    if (active && main.contains(active) && active.tagName === "INPUT") {
      return true;
    }
    var fields = main.querySelectorAll("form[method=post] input[type=text]");
    for (var i = 0; i < fields.length; i++) {
      if (fields[i].value !== "") {
        return true;
      }
    }
    return false;
  }
  function reload() {
    if (busy()) {
      return;
    }
    fetch(window.location.href, { credentials: "same-origin" })
      .then(function (response) {
        return response.ok ? response.text() : null;
      })
      .then(function (text) {
        if (text === null) {
          return;
        }
        var next = new DOMParser().parseFromString(text, "text/html").querySelector("main[data-live]");
        if (next && !busy()) {
          main.innerHTML = next.innerHTML;
          main.setAttribute("data-refreshed", String(Date.now()));
        }
      })
      .catch(function () {});
  }
  var events = new EventSource(main.getAttribute("data-live"));
  events.addEventListener("ready", function () {
    main.setAttribute("data-watching", "yes");
  });
  events.addEventListener("change", reload);
})();
