"""The three summaries TensorBoard's HParams plugin reads: experiment, session start, session end."""

from __future__ import annotations

__all__ = ["hparams_summaries"]


def _value(struct_value, value) -> None:
    if isinstance(value, bool):
        struct_value.bool_value = value
    elif isinstance(value, (int, float)):
        struct_value.number_value = float(value)
    else:
        struct_value.string_value = str(value)


def hparams_summaries(hparam_dict: dict, metric_dict: dict):
    """``(experiment, session_start, session_end)`` Summary protos."""
    from tensorboard.compat.proto import summary_pb2
    from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2

    def summary(tag: str, data):
        meta = metadata.create_summary_metadata(data)
        return summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, metadata=meta)])

    start = plugin_data_pb2.SessionStartInfo()
    for name, value in hparam_dict.items():
        _value(start.hparams[name], value)
    experiment = api_pb2.Experiment(
        hparam_infos=[api_pb2.HParamInfo(name=name) for name in hparam_dict],
        metric_infos=[api_pb2.MetricInfo(name=api_pb2.MetricName(tag=tag)) for tag in metric_dict],
    )
    end = plugin_data_pb2.SessionEndInfo(status=api_pb2.STATUS_SUCCESS)
    return (
        summary(
            metadata.EXPERIMENT_TAG,
            plugin_data_pb2.HParamsPluginData(experiment=experiment, version=metadata.PLUGIN_DATA_VERSION),
        ),
        summary(
            metadata.SESSION_START_INFO_TAG,
            plugin_data_pb2.HParamsPluginData(session_start_info=start, version=metadata.PLUGIN_DATA_VERSION),
        ),
        summary(
            metadata.SESSION_END_INFO_TAG,
            plugin_data_pb2.HParamsPluginData(session_end_info=end, version=metadata.PLUGIN_DATA_VERSION),
        ),
    )
