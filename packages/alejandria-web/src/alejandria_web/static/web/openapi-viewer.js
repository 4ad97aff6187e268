// Starts Swagger UI (served from our own origin) on the API's OpenAPI document.
// A file of its own, not an inline script, so the Content-Security-Policy stays 'self'.
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  if (typeof window.SwaggerUIBundle !== "function") {
    root.textContent = root.getAttribute("data-missing");
    return;
  }
  window.SwaggerUIBundle({
    url: root.getAttribute("data-url"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    withCredentials: true,
    requestInterceptor: function (request) {
      var token = root.getAttribute("data-csrf");
      if (token) { request.headers["X-CSRF-Token"] = token; }
      return request;
    }
  });
});
