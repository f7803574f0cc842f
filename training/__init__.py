"""Train the MNIST models, export them to ONNX, record their dependencies, publish them.

Steps (each a public function, so notebooks and the pipeline call them one by one):
`data.load_mnist` → `models.train_model` → `models.evaluate_model` →
`export.export_model` → `publish.publish_model`.
"""
