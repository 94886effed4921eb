/* "Copy link": copies the page's exact address (on the results page, the search with
 * every filter and the page number, as the address bar has it) so a patient can send
 * it to someone. The button is rendered `hidden` and shown only here, so a page
 * without JavaScript has no button that does nothing. Copy only, never
 * navigator.share: one behaviour on every device, and no share sheet offering apps.
 *
 * Marks: [data-copy-link] holding a button, a role=status element ([data-copy-status])
 * and a hidden read-only input ([data-copy-url]). When the clipboard is refused (or
 * missing), the address is put in that input and selected, to copy by hand.
 */
(function () {
  "use strict";

  function showByHand(box, status, field, address) {
    field.value = address;
    field.parentNode.hidden = false;
    field.focus();
    field.select();
    status.textContent = "Copying is not allowed here. The link is selected below: copy it with your device's copy command.";
  }

  function setUp(box) {
    var button = box.querySelector("button");
    var status = box.querySelector("[data-copy-status]");
    var field = box.querySelector("[data-copy-url]");
    if (!button || !status || !field) {
      return;
    }
    button.addEventListener("click", function () {
      var address = window.location.href;
      status.textContent = "";
      if (!navigator.clipboard || !navigator.clipboard.writeText) {
        showByHand(box, status, field, address);
        return;
      }
      navigator.clipboard.writeText(address).then(
        function () {
          field.parentNode.hidden = true;
          status.textContent = "Link copied";
        },
        function () {
          showByHand(box, status, field, address);
        }
      );
    });
    box.hidden = false;
  }

  var boxes = document.querySelectorAll("[data-copy-link]");
  for (var i = 0; i < boxes.length; i += 1) {
    setUp(boxes[i]);
  }
})();
