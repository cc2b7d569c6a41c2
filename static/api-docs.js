// Starts Swagger UI on /docs (templates/api_docs.html) from the pinned static copy, with no inline script.
// "Try it out" goes out with the browser session; state-changing calls carry the page's CSRF token.
(function () {
  var root = document.getElementById("swagger-ui");
  var meta = document.querySelector('meta[name="csrf-token"]');
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url"),
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    validatorUrl: null,  // the default asks validator.swagger.io
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
    requestInterceptor: function (req) {
      if (meta && req.method && ["GET", "HEAD", "OPTIONS"].indexOf(req.method.toUpperCase()) < 0) {
        req.headers["X-CSRF-Token"] = meta.content;
      }
      return req;
    }
  });
})();
