// talkdown serve: the transcript follows the player (line and word), a click on a line or a word
// seeks, "Copy quote" cites the public link, find marks matches, and k/j/l/Space drive the player.
// Without this file the page still works: every time is a plain ?t=N#t-N link.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var box = document.querySelector(".player");
  var article = document.getElementById("transcript");
  if (!box || !article) return;

  var lines = Array.prototype.slice.call(article.querySelectorAll(".line[data-start]"));
  var starts = lines.map(function (el) { return parseFloat(el.getAttribute("data-start")); });
  var current = article.querySelector(".line.current");
  var player = null;
  var highlights = !!(window.CSS && CSS.highlights && window.Highlight);
  var reduced = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  var following = true; // scroll to the line being said, until the reader scrolls away
  var ownScroll = 0; // until when scroll events are our own
  var loaded = Date.now();

  function parseTime(value) {
    if (!value) return null;
    var m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s?)?$/i.exec(value.trim());
    if (m && (m[1] || m[2] || m[3])) return (+m[1] || 0) * 3600 + (+m[2] || 0) * 60 + (parseFloat(m[3]) || 0);
    m = /^(?:(\d+):)?(\d+):(\d+(?:\.\d+)?)$/.exec(value.trim());
    if (m) return (+m[1] || 0) * 3600 + (+m[2]) * 60 + parseFloat(m[3]);
    return null;
  }

  function clock(s) {
    s = Math.floor(s);
    var h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, x = s % 60;
    return (h < 10 ? "0" : "") + h + ":" + (m < 10 ? "0" : "") + m + ":" + (x < 10 ? "0" : "") + x;
  }

  // The last index i with list[i] <= t (binary search), or -1.
  function atOrBefore(list, t) {
    var lo = 0, hi = list.length - 1, found = -1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (list[mid] <= t) { found = mid; lo = mid + 1; } else { hi = mid - 1; }
    }
    return found;
  }

  function lineAt(t) { var i = atOrBefore(starts, t + 0.05); return i >= 0 ? lines[i] : null; }

  // --- words: data-w holds centisecond steps, one per whitespace-separated word of the text ----
  function textNode(line) {
    var span = line && line.querySelector(".text");
    var node = span && span.firstChild;
    return node && node.nodeType === 3 ? node : null;
  }

  function words(line) {
    if (line._words !== undefined) return line._words;
    var steps = line.getAttribute("data-w"), node = textNode(line);
    line._words = null;
    if (!steps || !node) return null;
    var t = Math.round(parseFloat(line.getAttribute("data-start")) * 100), times = [], spans = [], m;
    steps.split(" ").forEach(function (s) { t += +s; times.push(t / 100); });
    var re = /\S+/g;
    while ((m = re.exec(node.data))) spans.push([m.index, m.index + m[0].length]);
    if (spans.length === times.length) line._words = { node: node, times: times, spans: spans };
    return line._words;
  }

  function wordIndexAt(w, offset) {
    for (var i = w.spans.length - 1; i >= 0; i--) if (w.spans[i][0] <= offset) return i;
    return 0;
  }

  function caretAt(x, y) {
    if (document.caretPositionFromPoint) {
      var p = document.caretPositionFromPoint(x, y);
      return p && { node: p.offsetNode, offset: p.offset };
    }
    if (document.caretRangeFromPoint) {
      var r = document.caretRangeFromPoint(x, y);
      return r && { node: r.startContainer, offset: r.startOffset };
    }
    return null;
  }

  // The time of the word under (x, y) in line, or the line's start.
  function timeAtPoint(line, x, y) {
    var w = words(line), c = w && caretAt(x, y);
    if (c && c.node === w.node) return w.times[wordIndexAt(w, c.offset)];
    return parseFloat(line.getAttribute("data-start"));
  }

  var spoken = null; // the word now highlighted: [line, index]
  function markWord(line, t) {
    if (!highlights) return;
    var w = line && words(line), i = w ? atOrBefore(w.times, t + 0.05) : -1;
    if (i < 0) { if (spoken) { CSS.highlights.delete("word"); spoken = null; } return; }
    if (spoken && spoken[0] === line && spoken[1] === i) return;
    var range = document.createRange();
    range.setStart(w.node, w.spans[i][0]);
    range.setEnd(w.node, w.spans[i][1]);
    CSS.highlights.set("word", new Highlight(range));
    spoken = [line, i];
  }

  // --- following, and letting go when the reader scrolls away -----------------------------
  function pinnedBottom() {
    return getComputedStyle(box).position === "sticky" ? Math.max(0, box.getBoundingClientRect().bottom) : 0;
  }

  function inView(el) {
    var r = el.getBoundingClientRect();
    return r.top >= pinnedBottom() && r.bottom <= (window.innerHeight || document.documentElement.clientHeight);
  }

  function scrollTo(el) {
    ownScroll = Date.now() + 1500;
    el.scrollIntoView({ block: "center", behavior: reduced ? "auto" : "smooth" });
  }

  function mark(el, scroll) {
    if (el !== current) {
      if (current) current.classList.remove("current");
      current = el;
      if (el) el.classList.add("current");
    }
    if (el && scroll && !inView(el)) scrollTo(el);
  }

  function follow(t) {
    if (t == null || isNaN(t)) return;
    var el = lineAt(t);
    if (!following && sync.hidden && player && player.playing()) sync.hidden = false;
    mark(el, following);
    markWord(el, t);
  }

  var sync = document.createElement("button");
  sync.type = "button";
  sync.className = "sync";
  sync.textContent = "Sync to video time";
  sync.hidden = true;
  document.body.appendChild(sync);
  sync.addEventListener("click", function () {
    following = true;
    sync.hidden = true;
    var t = player && player.time();
    var el = t != null ? lineAt(t) : current;
    if (el) { mark(el, false); scrollTo(el); }
  });

  function letGo() {
    if (!following || !player) return;
    following = false;
    sync.hidden = !player.playing(); // shown once playback runs on without the reader
  }

  window.addEventListener("wheel", letGo, { passive: true });
  window.addEventListener("touchmove", letGo, { passive: true });
  window.addEventListener("keydown", function (e) {
    if (/^(PageUp|PageDown|Home|End|ArrowUp|ArrowDown)$/.test(e.key) && !isField(e.target)) letGo();
  });
  window.addEventListener("scroll", function () {
    if (Date.now() > ownScroll && Date.now() - loaded > 1500) letGo();
  }, { passive: true });
  window.addEventListener("scrollend", function () { if (ownScroll > Date.now()) ownScroll = Date.now() + 100; });

  // --- players: HTML5 media, or the YouTube IFrame API ---------------------------------
  function mediaPlayer(el) {
    var frame = 0;
    function tick() { follow(el.currentTime); frame = el.paused ? 0 : requestAnimationFrame(tick); }
    el.addEventListener("play", function () { if (!frame) frame = requestAnimationFrame(tick); });
    el.addEventListener("timeupdate", function () { if (!frame) follow(el.currentTime); });
    el.addEventListener("seeked", function () { follow(el.currentTime); });
    return {
      seek: function (t, play) {
        el.currentTime = Math.max(0, t);
        if (play) { var p = el.play(); if (p && p.catch) p.catch(function () {}); }
      },
      toggle: function () { if (el.paused) this.seek(el.currentTime, true); else el.pause(); },
      time: function () { return el.currentTime; },
      playing: function () { return !el.paused; },
    };
  }

  function youtubePlayer(el, onReady, onFail) {
    var ready = null, pending = null;
    var api = {
      seek: function (t, play) {
        if (!ready) { pending = [t, play]; return; }
        ready.seekTo(Math.max(0, t), true);
        if (play) ready.playVideo();
      },
      toggle: function () {
        if (!ready) return;
        if (ready.getPlayerState() === 1) ready.pauseVideo(); else ready.playVideo();
      },
      time: function () { return ready ? ready.getCurrentTime() : pending ? pending[0] : null; },
      playing: function () { return !!ready && ready.getPlayerState() === 1; },
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
            if (onReady) onReady(api);
            if (pending) api.seek(pending[0], pending[1]);
            setInterval(function () { if (api.playing()) follow(ready.getCurrentTime()); }, 100);
          },
        },
      });
    };
    var script = document.createElement("script");
    script.src = "https://www.youtube.com/iframe_api";
    script.onerror = function () { if (onFail) onFail(); };
    document.head.appendChild(script);
    return api;
  }

  var media = document.getElementById("player");
  var yt = document.getElementById("yt-player");
  if (media) player = mediaPlayer(media);
  if (yt) {
    var tube = youtubePlayer(yt, function (api) {
      // YouTube answered: it takes over from the archived audio unless that is already playing.
      if (media && player && !player.playing()) {
        var at = player.time();
        media.pause();
        media.remove();
        player = api;
        if (at) api.seek(at, false);
      }
    }, function () {
      if (media) return; // the archived audio plays instead
      var note = yt.querySelector("p");
      if (note) note.firstChild.textContent = "YouTube cannot be reached from here, so there is no player here; ";
    });
    if (!media) player = tube;
  }

  // --- clicks: a line or a word seeks and plays (single clicks only), a time or a chapter at once --
  var pendingClick = null;
  function selected() { return window.getSelection && String(window.getSelection()).length > 0; }

  function go(el, t) {
    following = true;
    sync.hidden = true;
    mark(el, false);
    if (el && el.id && history.replaceState) {
      var q = new URLSearchParams(window.location.search).get("q");
      history.replaceState(null, "", "?" + (q ? "q=" + encodeURIComponent(q) + "&" : "") + "t=" + Math.floor(t) + "#" + el.id);
    }
    if (player) player.seek(t, true);
    markWord(el, t);
  }

  document.addEventListener("click", function (event) {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    var target = event.target;
    if (!target.closest || target.closest("button, input, select, summary")) return;
    var chapter = target.closest("a.seek[data-line]");
    if (chapter) {
      var at = document.getElementById(chapter.getAttribute("data-line"));
      if (!at) return;
      event.preventDefault();
      go(at, parseFloat(at.getAttribute("data-start")));
      scrollTo(at);
      return;
    }
    if (target.closest("a:not(.time)")) return; // ordinary links stay links
    var line = target.closest(".line[data-start]");
    if (!line || !player) return;
    if (target.closest("a.time")) { event.preventDefault(); go(line, parseFloat(line.getAttribute("data-start"))); return; }
    clearTimeout(pendingClick);
    if (event.detail > 1 || selected()) return; // a double-click or a drag selects text to quote
    var x = event.clientX, y = event.clientY;
    pendingClick = setTimeout(function () {
      if (!selected()) go(line, timeAtPoint(line, x, y));
    }, 300);
  });
  document.addEventListener("dblclick", function () { clearTimeout(pendingClick); });

  // --- "Copy quote": the words, the title and the public link to that second ------------------
  var quote = document.createElement("button");
  quote.type = "button";
  quote.className = "quote";
  quote.textContent = "Copy quote";
  quote.addEventListener("mousedown", function (e) { e.preventDefault(); }); // keep the selection

  function selectionIn(line) {
    var s = window.getSelection && window.getSelection();
    if (!s || s.isCollapsed || !s.rangeCount) return null;
    var r = s.getRangeAt(0), text = line.querySelector(".text");
    if (!text || !text.contains(r.startContainer) && !text.contains(r.endContainer)) return null;
    var w = words(line), t = parseFloat(line.getAttribute("data-start"));
    if (w && r.startContainer === w.node) t = w.times[wordIndexAt(w, r.startOffset)];
    var said = String(s).replace(/Copy quote|Copied/g, "").replace(/\s+/g, " ").trim();
    return said ? { text: said, start: t } : null;
  }

  function citation(line) {
    var picked = selectionIn(line);
    var t = picked ? picked.start : parseFloat(line.getAttribute("data-start"));
    var text = picked ? picked.text : line.querySelector(".text").textContent.trim();
    var template = article.getAttribute("data-link"), s = Math.floor(t);
    var link = template ? template.replace("{s}", s)
      : window.location.origin + window.location.pathname + "?t=" + s + "#" + line.id;
    return "\u201c" + text + "\u201d\n\u2014 " + (article.getAttribute("data-title") || "") + ", " + clock(t) + "\n" + link;
  }

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "print-only";
    document.body.appendChild(area);
    area.select();
    var ok = document.execCommand("copy");
    area.remove();
    return ok ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  quote.addEventListener("click", function () {
    var line = quote.closest(".line");
    if (!line) return;
    copy(citation(line)).then(function () {
      quote.textContent = "Copied";
      setTimeout(function () { quote.textContent = "Copy quote"; }, 1500);
    }, function () { quote.textContent = "Copy failed"; });
  });

  function offer(line) { if (line && quote.parentNode !== line) line.appendChild(quote); }
  document.addEventListener("selectionchange", function () {
    var s = window.getSelection();
    var node = s && s.anchorNode, el = node && (node.nodeType === 1 ? node : node.parentElement);
    var line = el && el.closest && el.closest(".line[data-start]");
    if (line && !s.isCollapsed) offer(line);
  });
  var marked = mark;
  mark = function (el, scroll) { marked(el, scroll); offer(el); };
  offer(current);

  // --- find within the transcript ---------------------------------------------------------
  var form = document.querySelector("form.find");
  var field = form && form.querySelector("input");
  var count = form && form.querySelector(".find-count");
  var hits = [], at = -1, timer = null;

  function terms(query) {
    var out = [], m, re = /"([^"]*)"|(\S+)/g;
    while ((m = re.exec(query))) {
      var term = (m[1] != null ? m[1] : m[2]).replace(/[*()]/g, "").trim().toLowerCase();
      if (!term || (m[1] == null && /^(and|or|not|near)$/i.test(term))) continue;
      out.push(term);
    }
    return out;
  }

  function find(query) {
    hits = [];
    at = -1;
    var wanted = terms(query);
    if (wanted.length) {
      article.querySelectorAll(".line .text").forEach(function (span) {
        var node = span.firstChild;
        if (!node || node.nodeType !== 3) return;
        var data = node.data.toLowerCase(), found = [];
        wanted.forEach(function (term) {
          for (var i = data.indexOf(term); i >= 0; i = data.indexOf(term, i + term.length)) {
            if (i === 0 || !/[\p{L}\p{N}]/u.test(data[i - 1])) found.push([i, i + term.length]);
          }
        });
        found.sort(function (a, b) { return a[0] - b[0]; }).forEach(function (f) {
          var r = document.createRange();
          r.setStart(node, f[0]);
          r.setEnd(node, f[1]);
          hits.push(r);
        });
      });
    }
    if (highlights) {
      var all = new Highlight();
      hits.forEach(function (r) { all.add(r); });
      if (hits.length) CSS.highlights.set("find", all); else CSS.highlights.delete("find");
      CSS.highlights.delete("find-now");
    }
    if (count) count.textContent = wanted.length ? (hits.length ? hits.length + " found" : "not found") : "";
  }

  function step(by, from) {
    if (!hits.length) return;
    at = from != null ? from : (at + by + hits.length) % hits.length;
    var r = hits[at], line = r.startContainer.parentElement.closest(".line");
    if (highlights) CSS.highlights.set("find-now", new Highlight(r));
    if (count) count.textContent = (at + 1) + " of " + hits.length;
    if (line && !inView(line)) { if (player && player.playing()) letGo(); scrollTo(line); }
  }

  if (form) {
    form.hidden = false;
    form.addEventListener("submit", function (e) { e.preventDefault(); step(1); });
    field.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { find(field.value); step(0, hits.length ? 0 : null); }, 150);
    });
    field.addEventListener("keydown", function (e) {
      if (e.key === "Enter") { e.preventDefault(); clearTimeout(timer); if (!hits.length) find(field.value); step(e.shiftKey ? -1 : 1); }
      if (e.key === "Escape") { field.value = ""; find(""); field.blur(); }
    });
    form.querySelector(".find-next").addEventListener("click", function () { step(1); });
    form.querySelector(".find-prev").addEventListener("click", function () { step(-1); });
  }

  // --- keyboard: k / Space play-pause, j / l back / forward 10 s, / find ------------------------
  function isField(el) {
    return el && el.closest && !!el.closest("input, textarea, select, [contenteditable], audio, video");
  }
  document.addEventListener("keydown", function (e) {
    if (e.defaultPrevented || e.metaKey || e.ctrlKey || e.altKey || isField(e.target)) return;
    if (e.key === "/" && field) { e.preventDefault(); field.focus(); field.select(); return; }
    if (!player) return;
    if (e.key === "k" || (e.key === " " && !(e.target.closest && e.target.closest("a, button, summary")))) {
      e.preventDefault();
      player.toggle();
    } else if (e.key === "j" || e.key === "l") {
      e.preventDefault();
      var t = player.time() || 0;
      player.seek(t + (e.key === "l" ? 10 : -10), false);
      follow(player.time());
    }
  });

  // --- ?t=SECONDS opens there; ?q= (from a search result) marks the words found ---------------
  var params = new URLSearchParams(window.location.search);
  var start = parseTime(params.get("t"));
  if (start != null) {
    var first = current || lineAt(start);
    // ?t= carries whole seconds; the line it names starts a fraction later, so cue that line.
    if (first && Math.floor(parseFloat(first.getAttribute("data-start"))) === Math.floor(start)) {
      start = parseFloat(first.getAttribute("data-start"));
    }
    mark(first, false);
    if (first && !window.location.hash) first.scrollIntoView({ block: "center" });
    if (media) {
      var cue = function () { if (player) player.seek(start, false); };
      if (media.readyState >= 1) cue(); else media.addEventListener("loadedmetadata", cue, { once: true });
    } else if (player) {
      player.seek(start, false);
    }
  }
  var asked = params.get("q");
  if (asked && field) {
    field.value = asked;
    find(asked);
    var here = -1;
    for (var i = 0; i < hits.length && here < 0; i++) if (current && current.contains(hits[i].startContainer)) here = i;
    if (hits.length) step(0, here >= 0 ? here : 0);
  }
})();
