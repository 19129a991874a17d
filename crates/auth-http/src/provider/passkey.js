// The hosted sign-in's passkey buttons, served from /assets/passkey.js (the
// pages' Content-Security-Policy allows no inline script):
// - #passkey, the second step's: asks the server for the step's passkey
//   challenge, lets the browser's authenticator answer it, and submits the
//   assertion with the step's form;
// - #passkey-login, the sign-in page's (passwordless): asks for the options
//   of a discoverable-credential sign-in, lets the authenticator answer, and
//   submits the assertion with its form (CSRF token and authorization
//   request included). Cancelled or failed, it submits no credential and
//   the server shows the sign-in page again with its message.
(function () {
  'use strict';
  var supported = window.PublicKeyCredential && PublicKeyCredential.parseRequestOptionsFromJSON;

  function assertion(url, body) {
    return fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
      .then(function (r) {
        if (!r.ok) throw new Error('options: ' + r.status);
        return r.json();
      })
      .then(function (options) {
        return navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options.publicKey) });
      })
      .then(function (credential) {
        return JSON.stringify(credential.toJSON());
      });
  }

  function offer(button, onClick) {
    if (!button) return;
    if (!supported) {
      button.hidden = true;
      return;
    }
    button.hidden = false;
    button.addEventListener('click', function () {
      button.disabled = true;
      onClick(button, button.form);
    });
  }

  offer(document.getElementById('passkey'), function (button, form) {
    var failed = document.getElementById('passkey-error');
    var token = form.querySelector('input[name=mfa_token]').value;
    assertion(button.getAttribute('data-challenge'), { mfaToken: token })
      .then(function (credential) {
        form.querySelector('input[name=credential]').value = credential;
        form.querySelector('input[name=code]').required = false;
        form.submit();
      })
      .catch(function () {
        button.disabled = false;
        if (failed) failed.hidden = false;
      });
  });

  offer(document.getElementById('passkey-login'), function (button, form) {
    var field = form.querySelector('input[name=credential]');
    assertion(button.getAttribute('data-start'), {})
      .then(function (credential) {
        field.value = credential;
      })
      .catch(function () {
        field.value = '';
      })
      .then(function () {
        form.submit();
      });
  });
})();
