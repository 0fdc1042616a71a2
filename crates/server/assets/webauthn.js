// Passkeys: the one WebAuthn call of a form marked data-webauthn="create" (adding a passkey) or
// "get" (using one). The server put the ceremony's options in data-webauthn-options; on submit the
// browser asks the authenticator, the answer goes into the form's hidden "credential" field, and
// the form is posted as usual. Everything else (checks, where to go next) is the server's. What
// it says comes from the page, in the reader's language: the script tag's data-text-* attributes.
(function () {
  "use strict";
  var texts = (document.currentScript && document.currentScript.dataset) || {};
  var text = function (name) {
    return texts[name] || "";
  };
  var forms = document.querySelectorAll("form[data-webauthn]");
  Array.prototype.forEach.call(forms, function (form) {
    var status = form.querySelector("[data-webauthn-status]");
    var say = function (words) {
      if (status) {
        status.textContent = words;
        status.hidden = false;
      }
    };
    if (!window.PublicKeyCredential || !PublicKeyCredential.parseRequestOptionsFromJSON) {
      say(text("textUnsupported"));
      form.querySelector("button[type=submit]").disabled = true;
      return;
    }
    form.addEventListener("submit", function (event) {
      var field = form.querySelector("input[name$=credential]");
      if (field.value) {
        return;
      }
      event.preventDefault();
      var options = JSON.parse(form.dataset.webauthnOptions).publicKey;
      var asked =
        form.dataset.webauthn === "create"
          ? navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options) })
          : navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options) });
      say(text("textWaiting"));
      asked.then(
        function (credential) {
          field.value = JSON.stringify(credential.toJSON());
          form.submit();
        },
        function (error) {
          var detail = error && error.message ? error.message : text("textUnknownError");
          say(error && error.name === "NotAllowedError"
            ? text("textNotAllowed")
            : text("textFailed").replace("%s", function () {
                return detail;
              }));
        }
      );
    });
  });
})();
