"""The fact tables the intent is checked against."""
from components.intent.architecture import presets
from components.intent.instances import catalog


def test_every_figure_cites_a_dated_source():
    facts = catalog()
    for source in facts.sources.values():
        assert source.as_of and source.where
    assert facts.instances["g6e.xlarge"].ec2_usd_per_hour.source in facts.sources


def test_gpu_memory_is_what_ec2_reports_not_marketing_gb():
    facts = catalog()
    assert facts.gpu_of("g5.xlarge").memory_mib == 22_888
    assert facts.gpu_of("g6.xlarge").memory_mib == 22_888
    assert facts.gpu_of("g6e.xlarge").memory_mib == 45_776


def test_sagemaker_offerings_match_the_api_enum():
    import botocore.session

    enum = botocore.session.get_session().get_service_model("sagemaker").shape_for("ProductionVariantInstanceType").enum
    for name, itype in catalog().instances.items():
        assert itype.sagemaker == (f"ml.{name}" in enum), name


def test_reference_architectures_match_published_sizes():
    shapes = presets()
    assert shapes["llama-3.1-8b"].num_layers == 32 and shapes["llama-3.1-8b"].num_kv_heads == 8
    assert shapes["qwen2.5-7b"].num_kv_heads == 4
    assert shapes["llama-3.1-70b"].params_billion == 70.55
