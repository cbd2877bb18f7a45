//! [`behaviour_suite!`](crate::behaviour_suite): one `#[test]` per scenario.

/// Expands to one `#[test]` per scenario of the suite, for the [`Adapter`](crate::Adapter)
/// named, in a module per scenario file (`lifecycle::renew_moves_the_data_to_a_new_id_…`),
/// so that a failing scenario names itself. Each test runs its scenario with
/// [`Adapter::block_on`](crate::Adapter::block_on).
///
/// Invoke it once, at the root of an integration test file (`tests/suite.rs`), where the
/// adapter type is in scope: `session_suite::behaviour_suite!(MyAdapter);`. Attributes
/// after the name go on every test, as the suite's own self-check does with
/// `behaviour_suite!(Nothing, #[should_panic])`. The
/// [crate docs](crate#running-the-suite-for-a-new-adapter) show a whole adapter.
#[macro_export]
macro_rules! behaviour_suite {
    ($adapter:ident $(, #[$attr:meta])*) => {
        $crate::__scenario_tests! {
            $adapter { $(#[$attr])* };
            bearer {
                a_bearer_session_travels_in_authorization_and_its_response_header,
                a_non_bearer_scheme_or_a_malformed_token_is_no_session,
                bearer_responses_vary_on_authorization,
                a_required_bearer_session_answers_401_with_a_bearer_challenge,
            }
            binding {
                encrypted_value_is_bound_to_the_session_name,
                a_signed_value_of_one_session_is_not_read_as_another,
                a_bare_signed_value_of_one_session_is_not_read_as_another,
                a_stored_session_of_one_type_is_not_read_as_another,
            }
            rotation {
                the_id_rotates_after_its_period_and_the_old_one_dies_after_the_grace,
                parallel_requests_across_a_rotation_stay_logged_in,
                a_logout_or_login_across_a_rotation_ends_both_ids,
                updates_rotate_and_follow_a_rotation,
                invalidating_a_rotated_away_id_ends_its_session,
            }
            csrf {
                csrf_protection_needs_the_sessions_token_on_unsafe_methods,
                trace_is_not_a_safe_method,
                a_form_body_that_fails_midway_answers_400_and_never_reaches_the_handler,
                an_oversized_form_answers_413_and_never_reaches_the_handler,
                masked_tokens_differ_on_every_call_and_are_accepted,
                a_wrong_masked_token_is_refused,
                cross_site_requests_are_refused_before_the_session_is_loaded,
                same_site_requests_pass_when_the_app_allows_them,
                without_sec_fetch_site_a_foreign_origin_is_refused,
                allowed_origins_go_on_to_the_token_check,
                a_custom_refusal_answers_what_the_app_makes_of_the_refusal,
                origin_only_lets_a_same_origin_login_post_pass_without_a_session,
            }
            lifecycle {
                clear_deletes_the_entry_and_expires_the_cookie,
                renew_moves_the_data_to_a_new_id_and_invalidates_the_old,
                renew_without_a_session_sends_nothing,
                set_without_reading_reuses_a_valid_existing_id,
                id_is_none_without_a_session,
                require_answers_401_without_a_session,
                set_twice_keeps_the_last_value_and_sends_one_cookie,
                clear_then_set_moves_to_a_new_id_and_deletes_the_old,
                a_logout_is_not_undone_by_a_request_in_flight,
                clear_ends_every_session_the_request_carried,
                invalidate_by_id_ends_other_sessions_only,
            }
            persist {
                only_a_signed_id_travels_and_the_handler_can_read_it,
                lazy_no_storage_access_unless_asked,
                untouched_session_costs_nothing_even_with_a_bad_cookie,
                server_error_responses_do_not_persist_changes,
                a_failing_logout_still_ends_the_session,
                a_failing_write_of_one_session_still_ends_another,
                a_failing_login_still_moves_the_id_but_writes_no_value,
                storage_failure_is_an_opaque_500,
                a_full_store_answers_an_empty_503_without_a_cookie,
                session_responses_carry_caching_headers,
                oversized_cookie_is_an_error_from_set,
                hundred_concurrent_updates_lose_nothing,
                update_without_a_session_does_nothing,
                update_without_compare_and_swap_is_a_plain_write_when_opted_out,
            }
            tampering {
                every_single_character_change_is_rejected_in_every_mode,
                forged_and_garbled_values_are_no_session_and_get_expired,
                forged_and_hostile_ids_never_reach_the_storage,
                an_id_the_server_did_not_issue_is_never_adopted,
                stored_text_of_an_old_schema_is_no_session_and_is_removed,
                old_schema_payload_is_no_session,
                rotated_key_still_reads_and_reseals_with_the_current_key,
            }
            timeouts {
                idle_timeout_slides_with_use_without_rewriting_the_data,
                absolute_timeout_ends_even_an_active_session,
                renew_restarts_the_absolute_timeout_and_the_csrf_token,
                a_replayed_client_side_value_stops_working_when_it_expires,
                client_side_values_are_resealed_when_a_quarter_of_the_window_passed,
                a_blind_set_keeps_the_start_and_the_token_server_side,
                a_blind_set_keeps_the_start_and_the_token_client_side,
                a_default_session_ends_after_1440_idle_seconds,
            }
            transport {
                set_get_clear_round_trip_with_secure_cookie_defaults,
                browser_session_cookie_without_max_age,
                clear_without_incoming_value_sends_nothing,
                header_transport_carries_the_value_and_never_a_cookie,
                signed_values_travel_in_a_header_percent_encoded,
                a_non_ascii_neighbour_cookie_does_not_hide_the_session,
                a_shadowing_cookie_does_not_hide_the_session,
                many_shadowing_cookies_neither_hide_nor_remove_the_session,
                the_query_fallback_opens_the_session_without_a_cookie,
                an_id_from_the_query_never_becomes_a_cookie,
                a_session_cookie_wins_over_the_query,
                a_forged_or_garbled_query_value_is_no_session,
                without_query_fallback_the_query_is_ignored,
                client_side_sessions_never_fall_back_to_the_query,
            }
        }
    };
}

/// The expansion of [`behaviour_suite!`]: a module per file, a test per scenario.
#[doc(hidden)]
#[macro_export]
macro_rules! __scenario_tests {
    ($adapter:ident $attrs:tt; $($module:ident { $($scenario:ident),* $(,)? })*) => {
        $(
            mod $module {
                $(
                    $crate::__scenario_test!($adapter $attrs $module $scenario);
                )*
            }
        )*
    };
}

/// One test of [`behaviour_suite!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __scenario_test {
    ($adapter:ident { $(#[$attr:meta])* } $module:ident $scenario:ident) => {
        #[test]
        $(#[$attr])*
        fn $scenario() {
            <super::$adapter as $crate::Adapter>::block_on(
                $crate::scenarios::$module::$scenario::<super::$adapter>(),
            );
        }
    };
}

#[cfg(test)]
mod tests {
    use crate::{Adapter, AppSpec, TestRequest, TestResponse};

    /// An app that answers every request with an empty 200 and does nothing else.
    struct Nothing;

    impl Adapter for Nothing {
        type App = ();

        fn block_on<F: std::future::Future>(future: F) -> F::Output {
            futures::executor::block_on(future)
        }

        async fn start(_: AppSpec) {}

        async fn send((): &(), _: TestRequest) -> TestResponse {
            TestResponse {
                status: 200,
                headers: Vec::new(),
                body: Vec::new(),
            }
        }
    }

    // Every scenario can fail: each fails against an app that does nothing.
    crate::behaviour_suite!(Nothing, #[should_panic]);
}
