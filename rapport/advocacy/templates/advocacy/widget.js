/* Rapport testimonials widget for {{ slug }}.
   <div data-rapport-testimonials data-limit="6"></div>  (="{{ slug }}" when a page embeds several)
   <script src="…/w/{{ slug }}/widget.js" async></script>
   Text is set with textContent only (never parsed as HTML); no cookies. */
(function () {
  "use strict";
  var SLUG = "{{ slug }}", FEED = {{ feed_url|safe }}, EMBED = {{ embed_url|safe }}, EVERY = {{ refresh_ms }};
  var ORIGIN = new URL(FEED).origin;
  var CSS = ":host{display:block;font:15px/1.5 system-ui,sans-serif;color:#1b2421}" +
    "h2{font-size:1.1rem;margin:0}p.n{color:#56625e;font-size:.85rem;margin:.1rem 0 .7rem}" +
    "figure{margin:0 0 .8rem;background:#fff;border:1px solid #d9e0dd;border-radius:10px;padding:.8rem 1rem}" +
    "blockquote{margin:0 0 .5rem;white-space:pre-line}figcaption{display:flex;gap:.5rem;align-items:center;color:#56625e;font-size:.88rem}" +
    "img{width:40px;height:40px;border-radius:50%;object-fit:cover}b{color:#1b2421}.s{color:#8a5a00;margin:0 0 .3rem}" +
    ".d{font-size:.82rem;background:#fff6dd;border-radius:6px;padding:.15rem .45rem;display:inline-block;margin:.4rem 0 0}a{color:inherit}";

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text != null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  function query(host) {
    var q = [], limit = host.getAttribute("data-limit"), tag = host.getAttribute("data-tag");
    if (limit) q.push("limit=" + encodeURIComponent(limit));
    if (tag) q.push("tag=" + encodeURIComponent(tag));
    if (host.hasAttribute("data-featured")) q.push("featured=1");
    return q.length ? "?" + q.join("&") : "";
  }

  function item(t) {
    var fig = el("figure"), cap = el("figcaption"), rating = Number(t.rating) || 0;
    fig.setAttribute("data-id", String(t.id));
    if (rating >= 1 && rating <= 5) {
      var stars = el("p", "★★★★★".slice(0, rating) + "☆☆☆☆☆".slice(rating), "s");
      stars.setAttribute("role", "img");
      stars.setAttribute("aria-label", rating + " out of 5");
      fig.appendChild(stars);
    }
    fig.appendChild(el("blockquote", t.text));
    // A photo only from the feed's own server, never another address.
    if (typeof t.photo === "string" && t.photo.indexOf(ORIGIN + "/") === 0) {
      var img = el("img");
      img.alt = "";
      img.loading = "lazy";
      img.referrerPolicy = "no-referrer";
      img.src = t.photo;
      cap.appendChild(img);
    }
    cap.appendChild(el("b", t.name || "A client"));
    cap.appendChild(el("time", t.date));
    fig.appendChild(cap);
    if (t.disclosure) fig.appendChild(el("p", t.disclosure, "d"));
    return fig;
  }

  function render(root, data) {
    var nodes = [el("style", CSS), el("h2", "What our clients say"),
      el("p", "A selection from clients of " + data.business + " who agreed to share their words.", "n")];
    (data.testimonials || []).forEach(function (t) { nodes.push(item(t)); });
    if (typeof data.wall === "string" && data.wall.indexOf(ORIGIN + "/") === 0) {
      var more = el("a", "More on our page");
      more.href = data.wall;
      more.target = "_blank";
      more.rel = "noopener";
      var p = el("p", null, "n");
      p.appendChild(more);
      nodes.push(p);
    }
    root.replaceChildren.apply(root, nodes);
  }

  function frame(host, into) {
    var iframe = el("iframe");
    iframe.src = EMBED + query(host);
    iframe.title = "What our clients say";
    iframe.loading = "lazy";
    iframe.setAttribute("sandbox", "allow-popups allow-popups-to-escape-sandbox");
    iframe.style.cssText = "width:100%;min-height:420px;border:0";
    into = into || host;
    while (into.firstChild) into.removeChild(into.firstChild);
    into.appendChild(iframe);
  }

  function start(host) {
    if (host.getAttribute("data-rapport-started")) return;
    host.setAttribute("data-rapport-started", "1");
    if (!host.attachShadow || !window.fetch || !host.replaceChildren) return frame(host);
    var root = host.attachShadow({ mode: "open" }), shown = false;
    function load() {
      fetch(FEED + query(host), { credentials: "omit", mode: "cors" })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
        .then(function (data) { render(root, data); shown = true; })
        .catch(function () { if (!shown) frame(host, root); });
    }
    load();
    // Withdrawn words leave an open page too, within a minute.
    setInterval(function () { if (shown && document.visibilityState !== "hidden") load(); }, EVERY);
  }

  // Hosts named for this workspace, or unnamed ones (the usual single widget).
  var hosts = Array.prototype.filter.call(
    document.querySelectorAll("[data-rapport-testimonials]"),
    function (h) { return (h.getAttribute("data-rapport-testimonials") || SLUG) === SLUG; });
  if (!hosts.length && document.currentScript) {
    var host = el("div");
    document.currentScript.parentNode.insertBefore(host, document.currentScript);
    hosts = [host];
  }
  Array.prototype.forEach.call(hosts, start);
})();
