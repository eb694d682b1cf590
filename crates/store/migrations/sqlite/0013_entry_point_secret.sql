-- An entry point's channel secret, sealed (ChaCha20-Poly1305 under the deployment's key).
ALTER TABLE entry_points ADD COLUMN secret TEXT;
