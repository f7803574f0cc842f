"""KServe's stock gRPC client against our server; run in KServe's own virtualenv by
test_grpc_kserve.py (KServe's dependencies do not mix with the project's).

    python kserve_grpc_client.py <host:port> <model> <images.npy> <token>

Prints one JSON report: health, readiness, both inference forms, metadata and a
load/unload through KServe's own generated stub (its client has no method for them).
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import grpc
import numpy as np
from kserve import InferenceGRPCClient, InferInput, InferRequest
from kserve.protocol.grpc import grpc_predict_v2_pb2 as pb
from kserve.protocol.grpc import grpc_predict_v2_pb2_grpc as pb_grpc


async def inference(client: InferenceGRPCClient, model: str, images: np.ndarray) -> dict:
    report: dict[str, Any] = {}
    for form, binary in (("typed", False), ("raw", True)):
        tensor = InferInput("x", list(images.shape), "FP32")
        tensor.set_data_from_numpy(images, binary_data=binary)
        response = await client.infer(InferRequest(model, [tensor], request_id=f"k-{form}"))
        output = response.outputs[0]
        report[form] = {
            "id": response.id,
            "name": output.name,
            "shape": output.shape,
            "data": output.as_numpy().astype(float).ravel().tolist(),
        }
    return report


async def repository(address: str, model: str, token: str) -> dict:
    metadata = (("authorization", f"Bearer {token}"),)
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        described = await stub.ModelMetadata(pb.ModelMetadataRequest(name=model))
        server = await stub.ServerMetadata(pb.ServerMetadataRequest())
        unloaded = await stub.RepositoryModelUnload(
            pb.RepositoryModelUnloadRequest(model_name=model), metadata=metadata
        )
        gone = await stub.ModelReady(pb.ModelReadyRequest(name=model))
        loaded = await stub.RepositoryModelLoad(
            pb.RepositoryModelLoadRequest(model_name=model), metadata=metadata
        )
    return {
        "platform": described.platform,
        "inputs": [list(i.shape) for i in described.inputs],
        "server": server.name,
        "unloaded": [unloaded.model_name, unloaded.isUnloaded],
        "ready_after_unload": gone.ready,
        "loaded": [loaded.model_name, loaded.isLoaded],
    }


async def main(address: str, model: str, images_path: str, token: str) -> None:
    images = np.load(images_path)
    client = InferenceGRPCClient(address, timeout=30)  # its defaults, as a user runs it
    report = {
        "live": await client.is_server_live(),
        "ready": await client.is_server_ready(),
        "model_ready": await client.is_model_ready(model),
        **await inference(client, model, images),
    }
    await client.close()
    report.update(await repository(address, model, token))
    print(json.dumps(report))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
