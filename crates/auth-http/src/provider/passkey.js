// The hosted sign-in's passkey button (second step): asks the server for
// the step's passkey challenge, lets the browser's authenticator answer it,
// and submits the assertion with the form. Served from /assets/passkey.js
// (the pages' Content-Security-Policy allows no inline script).
(function () {
  'use strict';
  var button = document.getElementById('passkey');
  if (!button) return;
  var supported = window.PublicKeyCredential && PublicKeyCredential.parseRequestOptionsFromJSON;
  if (!supported) {
    button.hidden = true;
    return;
  }
  button.hidden = false;
  button.addEventListener('click', function () {
    var form = button.form;
    var failed = document.getElementById('passkey-error');
    var token = form.querySelector('input[name=mfa_token]').value;
    button.disabled = true;
    fetch(button.getAttribute('data-challenge'), {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mfaToken: token }),
    })
      .then(function (r) {
        if (!r.ok) throw new Error('challenge: ' + r.status);
        return r.json();
      })
      .then(function (options) {
        return navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options.publicKey) });
      })
      .then(function (credential) {
        form.querySelector('input[name=credential]').value = JSON.stringify(credential.toJSON());
        form.querySelector('input[name=code]').required = false;
        form.submit();
      })
      .catch(function () {
        button.disabled = false;
        if (failed) failed.hidden = false;
      });
  });
})();
