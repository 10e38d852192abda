/* placeholder: being written */
typedef int config_placeholder_t;
