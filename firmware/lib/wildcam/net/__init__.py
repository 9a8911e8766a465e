"""Transport: the WiFi link, TCP/TLS streams, the HTTP/1.1 client and MQTT."""
