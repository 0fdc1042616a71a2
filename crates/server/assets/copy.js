// Copy buttons: a button with data-copy="ID" copies the text of the element with that id. The
// buttons are hidden until this script runs, so a browser without it shows no dead button;
// the status line tells screen readers the copy happened, in the words its data-done and
// data-failed attributes carry (the page's language).
(function () {
  var status = document.getElementById("copied");
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.dataset.copy);
    if (!source || !navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = source.tagName === "TEXTAREA" ? source.value : source.textContent;
      navigator.clipboard.writeText(text.trim()).then(function () {
        button.classList.add("done");
        if (status) status.textContent = status.dataset.done;
        setTimeout(function () { button.classList.remove("done"); }, 1500);
      }, function () {
        if (status) status.textContent = status.dataset.failed;
      });
    });
  });
})();
