from components.compilers.review import stack_review
from components.planning.cost import stack_cost
from components.preview.engine import run_under_mocks
from components.stack_review import REVIEW_TYPE, StackReview, StackReviewArgs
from tests.conftest import parse, stack_config


def test_the_review_is_one_component_whose_inputs_are_the_facts_and_the_account():
    spec = parse(stack_config("sagemaker-prod"))
    facts = stack_review(spec, stack_cost(spec))
    rec = run_under_mocks(lambda: StackReview("ml-serving-test-review", StackReviewArgs(facts, "444455556666")))
    [review] = rec.resources
    assert (review.type, review.name, review.custom) == (REVIEW_TYPE, "ml-serving-test-review", False)
    assert review.inputs == {**facts, "accountId": "444455556666"}
    assert review.inputs["sagemaker"] == {"dataCapturePercent": 10}
