/*
 * Relevo's browser snippet: a storefront's pages send shoppers' views, clicks and carts, and
 * show a recommendation widget, with a publishable key (docs/browser.md). Served by Relevo at
 * /relevo.js; no build step, no dependency.
 *
 *   <script src="https://relevo.example/relevo.js"></script>
 *   <script>
 *     Relevo.init({url: "https://relevo.example", key: "pk_rlv_...", userId: "shopper-42"});
 *     Relevo.track("view", "P000123");
 *     Relevo.recommend(document.getElementById("for-you"), {count: 4, productUrl: "/p/{product_id}"});
 *   </script>
 */
(function (global) {
  "use strict";

  var EVENT_TYPES = ["view", "click", "add_to_cart", "remove_from_cart"];
  var settings = null;

  function scriptOrigin() {
    var script = global.document && global.document.currentScript;
    return script && script.src ? new URL(script.src).origin : "";
  }

  var servedFrom = scriptOrigin(); // read while the script runs: currentScript is null afterwards

  function init(options) {
    if (!options || !options.key) throw new Error("Relevo.init: give the publishable key as {key: 'pk_rlv_...'}");
    if (!options.userId) throw new Error("Relevo.init: give the shopper's id as {userId: ...}");
    settings = {
      url: String(options.url || servedFrom).replace(/\/+$/, ""),
      key: options.key,
      userId: String(options.userId)
    };
    return settings;
  }

  function configured() {
    if (!settings) throw new Error("Relevo: call Relevo.init({url, key, userId}) first");
    return settings;
  }

  // Every answer, refused or not, as {ok, status, body}: a refusal's body says why
  // ({"error", "details"}); a network failure (no CORS for this page, say) has status 0.
  function call(method, path, body) {
    var config = configured();
    var request = {
      method: method,
      headers: {Authorization: "Bearer " + config.key},
      keepalive: method === "POST", // the event still goes when the page is left (a clicked link)
      credentials: "omit"
    };
    if (body !== undefined) {
      request.headers["Content-Type"] = "application/json";
      request.body = JSON.stringify(body);
    }
    return global.fetch(config.url + path, request).then(
      function (response) {
        return response.json().then(
          function (parsed) { return {ok: response.ok, status: response.status, body: parsed}; },
          function () { return {ok: response.ok, status: response.status, body: null}; }
        );
      },
      function (error) { return {ok: false, status: 0, body: {error: "Network error", details: String(error)}}; }
    );
  }

  // type: view, click, add_to_cart or remove_from_cart; extra: other fields of the event
  // (recommendation_id, value, session_id, context, event_id).
  function track(type, productId, extra) {
    if (EVENT_TYPES.indexOf(type) < 0) {
      throw new Error("Relevo.track: the type is one of " + EVENT_TYPES.join(", ") + ", not " + type);
    }
    var event = {};
    var name;
    for (name in extra || {}) {
      if (Object.prototype.hasOwnProperty.call(extra, name)) event[name] = extra[name];
    }
    event.user_id = configured().userId;
    event.product_id = String(productId);
    event.event_type = type;
    return call("POST", "/api/v1/events", event);
  }

  function productLink(template, item) {
    if (typeof template === "function") return template(item);
    return String(template).split("{product_id}").join(encodeURIComponent(item.product_id));
  }

  function element(tag, className, text) {
    var made = global.document.createElement(tag);
    made.className = className;
    if (text !== undefined && text !== null) made.textContent = String(text); // text, never markup
    return made;
  }

  function itemElement(item, answer, options) {
    var entry = element("li", "relevo-item");
    var link = element("a", "relevo-link");
    link.href = productLink(options.productUrl || "#{product_id}", item);
    link.setAttribute("data-product-id", item.product_id);
    link.appendChild(element("span", "relevo-name", item.name || item.product_id));
    if (item.price !== null && item.price !== undefined) {
      link.appendChild(element("span", "relevo-price", item.price + (item.currency ? " " + item.currency : "")));
    }
    if (options.reasons !== false && item.reason) link.appendChild(element("span", "relevo-reason", item.reason));
    link.addEventListener("click", function () {
      track("click", item.product_id, {recommendation_id: answer.recommendation_id});
    });
    entry.appendChild(link);
    return entry;
  }

  // Shows the shopper's recommendations in `target` (its children replaced by a list), and
  // sends a click with the answer's recommendation_id when one is followed. options: count,
  // productUrl ("/p/{product_id}" or a function of the item), reasons (false hides them), and
  // any filter of GET /api/v1/recommendations/{user_id} (category, in_stock, exclude, ...).
  // Resolves to the answer ({ok, status, body}).
  function recommend(target, options) {
    options = options || {};
    var query = new URLSearchParams();
    var reserved = {productUrl: true, reasons: true};
    var name;
    for (name in options) {
      if (Object.prototype.hasOwnProperty.call(options, name) && !reserved[name]) query.set(name, options[name]);
    }
    var path = "/api/v1/recommendations/" + encodeURIComponent(configured().userId);
    var asked = query.toString();
    return call("GET", asked ? path + "?" + asked : path).then(function (answer) {
      if (!answer.ok) return answer;
      var list = element("ul", "relevo-recommendations");
      list.setAttribute("data-recommendation-id", answer.body.recommendation_id);
      answer.body.items.forEach(function (item) { list.appendChild(itemElement(item, answer.body, options)); });
      while (target.firstChild) target.removeChild(target.firstChild);
      target.appendChild(list);
      return answer;
    });
  }

  global.Relevo = {init: init, track: track, recommend: recommend, EVENT_TYPES: EVENT_TYPES.slice()};
})(window);
