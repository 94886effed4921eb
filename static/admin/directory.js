// Flask-Admin renders some links as href="javascript:void(0)" (the current tab,
// menu toggles). Our Content-Security-Policy refuses javascript: URLs, so following
// one would log a violation; cancel the navigation, which does nothing anyway.
document.addEventListener("click", function (event) {
  var link = event.target.closest && event.target.closest('a[href^="javascript:"]');
  if (link) {
    event.preventDefault();
  }
});
