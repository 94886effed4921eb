/* The compare shortlist: up to four clinics a patient marks while browsing, kept in
 * this browser's localStorage ("shortlist": [{slug, name}, …]) and nowhere else: no
 * cookie, no request of its own. It leaves the browser only as the /compare?c=…
 * link the patient follows. Without this script nothing is lost: the "Compare"
 * checkboxes on result cards belong to the results page's "Compare selected" form,
 * and the clinic page's "Add to compare" button stays hidden.
 *
 * Marks (all optional on a page): input[data-shortlist] checkboxes (value = slug,
 * data-name), [data-compare-toggle] holding a button (data-slug, data-name), the
 * compare page's th[data-compared] columns and [data-shortlist-save] button, and
 * form#compare. The script tag says where /compare is served (data-compare-url) and
 * how many clinics it compares (data-compare-max).
 */
(function () {
  "use strict";

  var KEY = "shortlist";
  var SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
  var script = document.currentScript;
  var compareBase = (script && script.getAttribute("data-compare-url")) || "/compare";
  var MAX = parseInt((script && script.getAttribute("data-compare-max")) || "4", 10) || 4;

  var toggles = document.querySelectorAll("[data-compare-toggle]");
  var storage = null;
  try {
    storage = window.localStorage;
    storage.getItem(KEY); // throws where storage is blocked
  } catch (error) {
    storage = null;
  }
  if (!storage) {
    for (var t = 0; t < toggles.length; t += 1) toggles[t].remove();
    return;
  }

  function clean(items) {
    var kept = [];
    var seen = {};
    if (!Array.isArray(items)) return kept;
    items.forEach(function (item) {
      if (kept.length >= MAX || !item || typeof item.slug !== "string") return;
      if (!SLUG.test(item.slug) || seen[item.slug]) return;
      seen[item.slug] = true;
      var name = typeof item.name === "string" && item.name ? item.name.slice(0, 160) : item.slug;
      kept.push({ slug: item.slug, name: name });
    });
    return kept;
  }

  function read() {
    try {
      return clean(JSON.parse(storage.getItem(KEY) || "[]"));
    } catch (error) {
      return [];
    }
  }

  function write(items) {
    try {
      if (items.length) {
        storage.setItem(KEY, JSON.stringify(items));
      } else {
        storage.removeItem(KEY);
      }
      return true;
    } catch (error) {
      return false;
    }
  }

  function position(items, slug) {
    for (var i = 0; i < items.length; i += 1) {
      if (items[i].slug === slug) return i;
    }
    return -1;
  }

  function compareUrl(items) {
    return compareBase + "?" + items.map(function (item) {
      return "c=" + encodeURIComponent(item.slug);
    }).join("&");
  }

  function clinics(count) {
    return count + (count === 1 ? " clinic" : " clinics");
  }

  function sameClinics(a, b) {
    if (a.length !== b.length) return false;
    return a.every(function (item) { return position(b, item.slug) !== -1; });
  }

  // The compare page's own clinics, in its order (none elsewhere).
  var onPage = clean(Array.prototype.map.call(
    document.querySelectorAll("th[data-compared]"),
    function (cell) {
      return { slug: cell.getAttribute("data-slug"), name: cell.getAttribute("data-name") };
    }
  ));
  var saveHolder = document.querySelector("[data-shortlist-save]");

  // The bar: a status line (read out politely), a link to the comparison and "Clear".
  var main = document.getElementById("main") || document.body;
  var bar = document.createElement("div");
  bar.className = "shortlist-bar";
  var status = document.createElement("p");
  status.className = "shortlist-status";
  status.setAttribute("role", "status");
  var actions = document.createElement("p");
  actions.className = "shortlist-actions";
  actions.hidden = true;
  var link = document.createElement("a");
  link.className = "button";
  var clear = document.createElement("button");
  clear.type = "button";
  clear.className = "button button-secondary";
  clear.textContent = "Clear";
  clear.setAttribute("aria-label", "Clear the compare shortlist");
  actions.appendChild(link);
  actions.appendChild(clear);
  bar.appendChild(status);
  bar.appendChild(actions);
  // The compare page's "Save these" joins the bar: shown there, it moves nothing.
  if (saveHolder) bar.appendChild(saveHolder);
  main.appendChild(bar);

  function say(message) {
    status.textContent = message;
  }

  function show() {
    var items = read();
    var boxes = document.querySelectorAll("input[data-shortlist]");
    for (var i = 0; i < boxes.length; i += 1) {
      boxes[i].checked = position(items, boxes[i].value) !== -1;
    }
    for (var j = 0; j < toggles.length; j += 1) {
      var button = toggles[j].querySelector("button");
      if (button) {
        var listed = position(items, button.getAttribute("data-slug")) !== -1;
        button.textContent = listed ? "Remove from compare" : "Add to compare";
      }
      toggles[j].hidden = false;
    }
    // On the compare page the bar offers only a different shortlist.
    var offered = items.length > 0 && !(onPage.length && sameClinics(items, onPage));
    actions.hidden = !offered;
    link.href = compareUrl(items);
    link.textContent = "Compare " + clinics(items.length);
    var saving = Boolean(saveHolder) && onPage.length > 0 && !sameClinics(items, onPage);
    if (saveHolder) saveHolder.hidden = !saving;
    bar.classList.toggle("is-active", offered || saving || status.textContent !== "");
  }

  function add(slug, name) {
    var items = read();
    if (position(items, slug) !== -1) return true;
    if (items.length >= MAX) {
      say("You can compare up to " + MAX + " clinics. Remove one from your shortlist before adding " + name + ".");
      return false;
    }
    items.push({ slug: slug, name: name });
    if (!write(items)) {
      say("Your browser did not let us keep the shortlist. Use “Compare selected” instead.");
      return false;
    }
    say("Added " + name + ". Your shortlist has " + clinics(items.length) + " of " + MAX + ".");
    return true;
  }

  function remove(slug, name) {
    var items = read();
    var at = position(items, slug);
    if (at === -1) return;
    items.splice(at, 1);
    write(items);
    say("Removed " + name + " from your shortlist" + (items.length ? "." : ", which is now empty."));
  }

  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("input[data-shortlist]")) return;
    var name = box.getAttribute("data-name") || box.value;
    if (box.checked) {
      add(box.value, name);
    } else {
      remove(box.value, name);
    }
    show();
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-compare-toggle] button") : null;
    if (!button) return;
    var slug = button.getAttribute("data-slug");
    var name = button.getAttribute("data-name") || slug;
    if (position(read(), slug) === -1) {
      add(slug, name);
    } else {
      remove(slug, name);
    }
    show();
  });

  clear.addEventListener("click", function () {
    write([]);
    say("Your shortlist is empty.");
    show();
  });

  if (saveHolder) {
    saveHolder.querySelector("button").addEventListener("click", function () {
      if (write(onPage)) say("Saved: your shortlist now holds these " + clinics(onPage.length) + ".");
      show();
    });
  }

  // With a shortlist, "Compare selected" compares all of it, from every search.
  var form = document.getElementById("compare");
  if (form) {
    form.addEventListener("submit", function (event) {
      var items = read();
      if (items.length) {
        event.preventDefault();
        window.location.assign(compareUrl(items));
      }
    });
  }

  window.addEventListener("storage", function (event) {
    if (event.key === KEY || event.key === null) show();
  });
  window.addEventListener("pageshow", show); // back and forward keep old checkbox states
  show();
}());
