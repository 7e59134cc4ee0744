"""A stand-in for stock cQube's emission API, for the tests only (cqube-testkit starts it: `stock_cqube`).

cQube's own Flask app (cQube_Workflow development/datasource/python/views.py, Flask 1.1.2 + Flask-RESTful 0.3.8)
is not installable here, so this is a port of the two endpoints the emitter uses, on a real HTTP server:

- POST /data/upload-url, form field `filename`: boto3's
  generate_presigned_post(bucket, <name>_<YYYYmmddHHMMSS><ext>, ExpiresIn=3600), no conditions, returned as is.
- POST /data/list_s3_files, field `bucket`: boto3's list_objects(Bucket=bucket) as JSON (unpaginated, so at most
  1,000 keys; other fields ignored, as reqparse does).
- anything else: 404 with an HTML page, as Flask answers unknown routes.

With --cut-first-post the URL it hands out points at its own /s3/<bucket> relay, which forwards each POST to the
store and, for the first one only, closes the client's connection after the store stored it, without answering:
a connection lost after the body was sent. With --hang-first-post the first one is never answered instead (the
emitter is then killed: a crash after the body was sent).

Usage: python3 cqube_upload_url.py PORT BUCKET [--cut-first-post | --hang-first-post]   (store from AWS_ENDPOINT_URL and AWS_*)
"""
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3

PORT, BUCKET = int(sys.argv[1]), sys.argv[2]
CUT = "--cut-first-post" in sys.argv
HANG = "--hang-first-post" in sys.argv
ENDPOINT = os.environ["AWS_ENDPOINT_URL"]
s3 = boto3.client("s3", endpoint_url=ENDPOINT)
state = {"posts": 0}
lock = threading.Lock()

NOT_FOUND = (b"<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 3.2 Final//EN\">\n<title>404 Not Found</title>\n"
             b"<h1>Not Found</h1>\n<p>The requested URL was not found on the server.</p>\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, content_type="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def form(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Type", "").startswith("application/json"):
            return json.loads(body or b"{}")
        return {k: v[0] for k, v in urllib.parse.parse_qs(body.decode()).items()}

    def do_GET(self):
        self.reply(404, NOT_FOUND, "text/html")

    def do_POST(self):
        if self.path == "/data/upload-url":
            filename = self.form()["filename"]
            name, ext = os.path.splitext(filename)
            key = f"{name}_{datetime.now().strftime('%Y%m%d%H%M%S')}{ext}"
            post = s3.generate_presigned_post(BUCKET, key, ExpiresIn=3600)
            if CUT or HANG:
                post["url"] = f"http://127.0.0.1:{PORT}/s3/{BUCKET}"
            self.reply(200, json.dumps(post).encode())
        elif self.path == "/data/list_s3_files":
            listing = s3.list_objects(Bucket=self.form()["bucket"])
            listing.pop("ResponseMetadata", None)
            self.reply(200, json.dumps(listing, default=str).encode())
        elif self.path.startswith("/s3/"):
            self.relay()
        else:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.reply(404, NOT_FOUND, "text/html")

    def relay(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        store = urllib.parse.urlparse(ENDPOINT)
        conn = http.client.HTTPConnection(store.hostname, store.port)
        conn.request("POST", "/" + self.path.split("/", 2)[2], body, {"Content-Type": self.headers["Content-Type"]})
        answer = conn.getresponse()
        data = answer.read()
        with lock:
            state["posts"] += 1
            first = state["posts"] == 1
        with open(os.environ["RELAY_LOG"], "a") as log:
            log.write(f"{answer.status}\n")
        if first and HANG:
            time.sleep(3600)
        if first:
            # Stored by the store; the emitter never hears so.
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.reply(answer.status, data, answer.getheader("Content-Type") or "application/xml")


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
