/* placeholder: being written */
typedef int conn_placeholder_t;
