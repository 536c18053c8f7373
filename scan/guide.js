// The camera at the guide's counter (/guide): where the browser can read
// QR codes (BarcodeDetector) and open the camera (getUserMedia), a button
// scans the consumer's coupon and submits the counter's form with it.
// Without them the typed form is the counter, as it is with scripts off.
(function () {
  "use strict";
  var print = document.getElementById("print");
  if (print) {
    print.hidden = false;
    print.addEventListener("click", function () { window.print(); });
  }
  var form = document.getElementById("counter");
  var button = document.getElementById("scan");
  var video = document.getElementById("cam");
  var failed = document.getElementById("camerr");
  if (!form || !button || !video || !("BarcodeDetector" in window) ||
      !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return;
  }
  button.hidden = false;
  button.addEventListener("click", function () {
    var detector;
    try {
      detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    } catch (e) {
      button.hidden = true;
      failed.hidden = false;
      return;
    }
    button.disabled = true;
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false }).then(function (stream) {
      var stop = function () { stream.getTracks().forEach(function (t) { t.stop(); }); };
      video.srcObject = stream;
      video.hidden = false;
      video.play();
      var look = function () {
        detector.detect(video).then(function (codes) {
          if (codes.length > 0 && codes[0].rawValue) {
            stop();
            form.elements.coupon.value = codes[0].rawValue;
            form.submit();
            return;
          }
          window.requestAnimationFrame(look);
        }, function () { window.requestAnimationFrame(look); });
      };
      look();
    }, function () {
      button.hidden = true;
      failed.hidden = false;
    });
  });
})();
