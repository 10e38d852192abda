/* placeholder: being written */
typedef int packet_none_placeholder_t;
