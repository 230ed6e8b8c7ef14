// talkdown serve: the transcript follows the player, and a click on a line seeks the player.
// Without this file the page still works: every time is a plain ?t=N#t-N link.
(function () {
  "use strict";
  var box = document.querySelector(".player");
  var article = document.getElementById("transcript");
  if (!box || !article) return;

  var lines = Array.prototype.slice.call(article.querySelectorAll(".line[data-start]"));
  var starts = lines.map(function (el) { return parseFloat(el.getAttribute("data-start")); });
  var current = article.querySelector(".line.current");
  var player = null;

  function parseTime(value) {
    if (!value) return null;
    var m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s?)?$/i.exec(value.trim());
    if (m && (m[1] || m[2] || m[3])) return (+m[1] || 0) * 3600 + (+m[2] || 0) * 60 + (parseFloat(m[3]) || 0);
    m = /^(?:(\d+):)?(\d+):(\d+(?:\.\d+)?)$/.exec(value.trim());
    if (m) return (+m[1] || 0) * 3600 + (+m[2]) * 60 + parseFloat(m[3]);
    return null;
  }

  // The line being said at t: the last one starting at or before it (binary search).
  function lineAt(t) {
    var lo = 0, hi = starts.length - 1, found = -1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (starts[mid] <= t + 0.05) { found = mid; lo = mid + 1; } else { hi = mid - 1; }
    }
    return found >= 0 ? lines[found] : null;
  }

  function inView(el) {
    var r = el.getBoundingClientRect();
    return r.top >= 0 && r.bottom <= (window.innerHeight || document.documentElement.clientHeight);
  }

  function mark(el, scroll) {
    if (el === current) return;
    if (current) current.classList.remove("current");
    current = el;
    if (!el) return;
    el.classList.add("current");
    if (scroll && !inView(el)) el.scrollIntoView({ block: "center", behavior: "smooth" });
  }

  function follow(t) { if (t != null && !isNaN(t)) mark(lineAt(t), true); }

  // --- players: HTML5 media, or the YouTube IFrame API ---------------------------------
  function mediaPlayer(el) {
    el.addEventListener("timeupdate", function () { follow(el.currentTime); });
    el.addEventListener("seeked", function () { follow(el.currentTime); });
    return {
      seek: function (t, play) {
        el.currentTime = t;
        if (play) { var p = el.play(); if (p && p.catch) p.catch(function () {}); }
      },
    };
  }

  function youtubePlayer(el) {
    var ready = null, pending = null;
    var api = {
      seek: function (t, play) {
        if (!ready) { pending = [t, play]; return; }
        ready.seekTo(t, true);
        if (play) ready.playVideo();
      },
    };
    var previous = window.onYouTubeIframeAPIReady;
    window.onYouTubeIframeAPIReady = function () {
      if (previous) previous();
      var yt = new window.YT.Player(el, {
        videoId: el.getAttribute("data-video-id"),
        playerVars: { start: Math.floor(+el.getAttribute("data-start") || 0), playsinline: 1, rel: 0 },
        events: {
          onReady: function () {
            ready = yt;
            if (pending) api.seek(pending[0], pending[1]);
            setInterval(function () {
              if (ready.getPlayerState && ready.getPlayerState() === 1) follow(ready.getCurrentTime());
            }, 250);
          },
        },
      });
    };
    var script = document.createElement("script");
    script.src = "https://www.youtube.com/iframe_api";
    document.head.appendChild(script);
    return api;
  }

  var media = document.getElementById("player");
  var yt = document.getElementById("yt-player");
  if (media) player = mediaPlayer(media);
  else if (yt) player = youtubePlayer(yt);

  // --- clicks: a line, its time link, or a chapter seeks and plays --------------------
  document.addEventListener("click", function (event) {
    if (!player || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    var target = event.target;
    if (target.closest && target.closest("a:not(.time):not(.seek)")) return; // ordinary links stay links
    var line = target.closest && target.closest(".line[data-start]");
    var chapter = target.closest && target.closest("a.seek[data-seek]");
    var t = line ? parseFloat(line.getAttribute("data-start")) : chapter ? parseFloat(chapter.getAttribute("data-seek")) : null;
    if (t == null || isNaN(t)) return;
    if (window.getSelection && String(window.getSelection()).length > 0 && !target.closest("a")) return; // selecting text to quote
    event.preventDefault();
    var el = line || lineAt(t);
    mark(el, false);
    if (el && history.replaceState) history.replaceState(null, "", "?t=" + Math.floor(t) + "#" + el.id);
    player.seek(t, true);
  });

  // --- ?t=SECONDS opens there ----------------------------------------------------------
  var start = parseTime(new URLSearchParams(window.location.search).get("t"));
  if (start != null) {
    var at = current || lineAt(start);
    // ?t= carries whole seconds; the line it names starts a fraction later, so cue that line.
    if (at && Math.floor(parseFloat(at.getAttribute("data-start"))) === Math.floor(start)) {
      start = parseFloat(at.getAttribute("data-start"));
    }
    mark(at, false);
    if (at && !window.location.hash) at.scrollIntoView({ block: "center" });
    if (media) {
      var cue = function () { if (player) player.seek(start, false); };
      if (media.readyState >= 1) cue(); else media.addEventListener("loadedmetadata", cue, { once: true });
    } else if (player) {
      player.seek(start, false);
    }
  }
})();
