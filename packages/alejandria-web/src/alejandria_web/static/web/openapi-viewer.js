// Starts Swagger UI (served from our own origin) on the API's OpenAPI document.
// A file of its own, not an inline script, so the Content-Security-Policy stays 'self'.
// Signing in from the viewer (POST /api/v1/auth/login) sets the session cookie; the CSRF
// token it returns is sent back on every later request, as the API asks of browsers.
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  var csrf = root.getAttribute("data-csrf") || "";
  if (typeof window.SwaggerUIBundle !== "function") {
    root.textContent = root.getAttribute("data-missing");
    return;
  }
  window.SwaggerUIBundle({
    url: root.getAttribute("data-url"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    requestInterceptor: function (request) {
      if (csrf) { request.headers["X-CSRF-Token"] = csrf; }
      return request;
    },
    responseInterceptor: function (response) {
      if (response.url && response.url.indexOf("/api/v1/auth/login") !== -1 &&
          response.body && response.body.csrf_token) {
        csrf = response.body.csrf_token;
      }
      return response;
    }
  });
});
