{#- Rows where `expression` is false fail the test. At column level, the expression may use the column. -#}
{% test expression_is_true(model, expression, column_name=none) %}
select *
from {{ model }}
where not ({{ expression }})
{% endtest %}
