// GraphiQL with a token field: the token (from the field, or a link's #token=…) is kept for
// this browser tab only (sessionStorage) and sent as `Authorization: Bearer …`.
(function () {
  'use strict';
  var KEY = 'xingyi.token';
  var input = document.getElementById('token');
  var state = document.getElementById('token-state');
  var fromLink = /(?:^|[#&])token=([^&]+)/.exec(window.location.hash);
  if (fromLink) {
    sessionStorage.setItem(KEY, decodeURIComponent(fromLink[1]));
    history.replaceState(null, '', window.location.pathname + window.location.search);
  }
  input.value = sessionStorage.getItem(KEY) || '';

  function fetcherFor(token) {
    return function (params, opts) {
      var headers = {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json'
      };
      if (token) headers.authorization = 'Bearer ' + token;
      var extra = (opts && opts.headers) || {};
      Object.keys(extra).forEach(function (k) { headers[k.toLowerCase()] = extra[k]; });
      return fetch('/graphql', {
        method: 'POST', headers: headers, body: JSON.stringify(params), credentials: 'omit'
      }).then(function (r) { return r.json(); });
    };
  }

  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  function render() {
    var token = input.value.trim();
    state.textContent = token ? '✓' : '未登录 no token';
    root.render(React.createElement(GraphiQL, {
      fetcher: fetcherFor(token),
      defaultQuery: '# 兴医 xingyi — try:\n{ cities { code nameZh status { reachability } } }\n'
    }));
  }
  input.addEventListener('change', function () {
    sessionStorage.setItem(KEY, input.value.trim());
    render();
  });
  render();
})();
