/* "Use my location": fills the `where` field with "lat,lng", which the search
 * accepts like a ZIP code. The button (templates/_locate.html) stays hidden
 * without JavaScript or without geolocation, and the patient can always type a
 * place instead. Coordinates are rounded to 2 decimals (about 1 km): enough to
 * rank clinics by distance, no more precise than a ZIP code, and that is all that
 * goes into the search address.
 */
(function () {
  "use strict";

  var MESSAGES = {
    1: "Location access was denied. Type a ZIP code or city instead, or allow location for this site in your browser settings.",
    2: "Your location could not be found. Type a ZIP code or city instead.",
    3: "Finding your location took too long. Try again, or type a ZIP code or city."
  };

  function setUp(holder) {
    var input = document.getElementById(holder.getAttribute("data-locate"));
    var button = holder.querySelector("button");
    var status = holder.querySelector("[role=status]");
    if (!input || !button || !status) {
      holder.remove();
      return;
    }

    var busy = false;
    button.addEventListener("click", function () {
      if (busy) return; // not `disabled`: that would take the keyboard focus away
      busy = true;
      status.textContent = "Finding your location…";
      navigator.geolocation.getCurrentPosition(function (position) {
        var lat = position.coords.latitude.toFixed(2);
        var lng = position.coords.longitude.toFixed(2);
        input.value = lat + "," + lng;
        input.removeAttribute("aria-invalid");
        status.textContent = "Your location (" + input.value + ") is filled in. Press Search to see clinics near you.";
        busy = false;
      }, function (error) {
        status.textContent = MESSAGES[error.code] || MESSAGES[2];
        busy = false;
      }, { enableHighAccuracy: false, timeout: 15000, maximumAge: 600000 });
    });
    holder.hidden = false;
  }

  var holders = document.querySelectorAll("[data-locate]");
  var usable = "geolocation" in navigator && window.isSecureContext;
  for (var i = 0; i < holders.length; i += 1) {
    if (usable) {
      setUp(holders[i]);
    } else {
      holders[i].remove(); // the stylesheet keeps room for it where scripts run
    }
  }
}());
