// The account page's only script: passkey registration. Asks the server
// for creation options (with the page's CSRF token), lets the browser's
// authenticator make the credential, and submits it with the form; the
// server verifies it. Served from /assets/console.js (the pages'
// Content-Security-Policy allows no inline script).
(function () {
  'use strict';
  var form = document.getElementById('passkey-register');
  if (!form) return;
  var failed = document.getElementById('passkey-register-error');
  var supported = window.PublicKeyCredential && PublicKeyCredential.parseCreationOptionsFromJSON;
  if (!supported) {
    form.querySelector('button').disabled = true;
    if (failed) failed.hidden = false;
    return;
  }
  form.addEventListener('submit', function (event) {
    var field = form.querySelector('input[name=credential]');
    if (field.value) return;
    event.preventDefault();
    var button = form.querySelector('button');
    button.disabled = true;
    if (failed) failed.hidden = true;
    fetch(form.getAttribute('data-options'), {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'x-csrf-token': form.querySelector('input[name=csrf]').value },
    })
      .then(function (r) {
        if (!r.ok) throw new Error('options: ' + r.status);
        return r.json();
      })
      .then(function (options) {
        return navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options.publicKey) });
      })
      .then(function (credential) {
        field.value = JSON.stringify(credential.toJSON());
        form.submit();
      })
      .catch(function () {
        button.disabled = false;
        if (failed) failed.hidden = false;
      });
  });
})();
