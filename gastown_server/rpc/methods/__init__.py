"""RPC method handlers, one module per noun; each a few lines over a domain function."""
