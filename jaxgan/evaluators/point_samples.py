"""`point_samples`: the figure of generated points over fresh data and the model's contours
(samples.png): the critic's scores for a GAN, the energy for an energy-based model, none for a
model with neither (the family's `contours`)."""

from __future__ import annotations

from jaxgan import plots
from jaxgan.evaluators.base import Evaluator, register_evaluator
from jaxgan.evaluators.point_scores import evaluation_data, point_sampler


@register_evaluator("point_samples")
class PointSamples(Evaluator):
    """samples.png at the end: eval.samples generated points over as many data points."""

    def at_end(self, state) -> dict:
        context = self.context
        config, family, built, files = context.config, context.family, context.built, context.files
        if files.writes:
            plots.plot_samples_2d(
                files.figure_path("samples.png"),
                evaluation_data(context),
                point_sampler(context)(state, config.eval.samples),
                family.contours(built, state),
                title=self.title(state),
                contour_label=family.contour_label,
            )
        return {}
