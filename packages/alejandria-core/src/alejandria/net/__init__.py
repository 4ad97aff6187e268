"""HTTP for sources and model APIs: pooled clients, rate limits, backoff, resumable downloads.

Import the module you need; nothing is imported here, so that ``backoff`` (used by the queue)
does not pull in urllib3:

- ``backoff``: exponential backoff with jitter, and the ``Retry-After`` header read;
- ``rate_limit``: at most N requests per second to each host, across threads;
- ``transport``: requests over pooled urllib3 connections (proxies, certifi CAs), one hop each;
- ``addresses``/``address_guard``: only public (or allowed) addresses are connected to;
- ``urls``: which URLs may be fetched, and how messages show them (never the query);
- ``redirects``: redirects followed hop by hop, credentials kept to their host;
- ``limits``: size caps, the low-speed abort and the API deadline;
- ``client``: ``HttpClient``, what a source talks to a site with: cookies per host, the rate
  limit, retries of 429/5xx/network errors, messages that name the site and no secret;
- ``download``: ``ResumableStream``, a download that goes on with ``Range`` when it breaks off;
- ``openai_compat``: what the clients of OpenAI-compatible APIs share.
"""
