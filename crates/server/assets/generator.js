// The access-token generator's callback for the implicit flow: the token arrives in the URL
// fragment, which never reaches the server. Show it, then drop the fragment from the address
// bar and history.
(function () {
  var section = document.getElementById("implicit-result");
  var failure = document.getElementById("implicit-error");
  var params = new URLSearchParams(window.location.hash.slice(1));
  history.replaceState(null, "", window.location.pathname);
  // The page's own words (its language), from the catalogue.
  var words = section.dataset;
  if (params.get("error")) {
    failure.textContent = words.textAnswered + params.get("error") + (params.get("error_description") ? " (" + params.get("error_description") + ")" : "");
    failure.hidden = false;
    return;
  }
  if (!params.get("access_token") || params.get("state") !== section.dataset.state) {
    failure.textContent = words.textNoToken;
    failure.hidden = false;
    return;
  }
  var expiresIn = parseInt(params.get("expires_in") || "0", 10);
  document.getElementById("access-token").value = params.get("access_token");
  document.getElementById("token-expiry").textContent = words.textIn.replace("N", expiresIn) + " (" + new Date(Date.now() + expiresIn * 1000).toISOString().replace(/\.\d+Z$/, "Z") + ")";
  document.getElementById("token-scope").textContent = params.get("scope") || "";
  section.hidden = false;
})();
