/* The sign-in page's proof of work (miniapp_api/challenge.py): find a nonce so that SHA-256 of
   "<token>:<nonce>" starts with `difficulty` zero bits, then post the form again with it. Only loaded when
   the server asked for the challenge; without JavaScript the page says how to get help instead. */
(function () {
  "use strict";
  var form = document.getElementById("challenge-form");
  if (!form) return;
  var status = document.getElementById("challenge-status");
  if (!window.crypto || !window.crypto.subtle || !window.TextEncoder) {
    status.textContent = document.documentElement.lang === "en"
      ? "This browser cannot do the check. Please try again later, or call 12345."
      : "此浏览器无法完成安全验证，请稍后再试，或拨打12345求助。";
    return;
  }
  var token = form.getAttribute("data-token");
  var bits = parseInt(form.getAttribute("data-difficulty"), 10);
  var encoder = new TextEncoder();
  var BATCH = 1024;

  function enoughZeros(buffer) {
    var bytes = new Uint8Array(buffer), left = bits, i = 0;
    for (; left >= 8; left -= 8, i++) { if (bytes[i] !== 0) return false; }
    return left === 0 || (bytes[i] >> (8 - left)) === 0;
  }

  function search(start) {
    var work = [];
    for (var k = 0; k < BATCH; k++) {
      work.push(window.crypto.subtle.digest("SHA-256", encoder.encode(token + ":" + (start + k))));
    }
    Promise.all(work).then(function (digests) {
      for (var k = 0; k < digests.length; k++) {
        if (enoughZeros(digests[k])) {
          form.elements.challenge.value = token + ":" + (start + k);
          form.submit();
          return;
        }
      }
      search(start + BATCH);
    });
  }

  search(0);
})();
