"""Shipped ONNX models (installed as the ``mixai.models`` package); see README.md here."""
